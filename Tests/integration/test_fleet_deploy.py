"""Issue 5, deploy/: the Prometheus alert rules and the Grafana dashboard are valid and built on
metrics the core really exposes; promtool (Debian's `prometheus` package) lints the core's
/metrics, checks and unit-tests the rules, and parses every dashboard query."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO_ROOT, free_port, sha256_hex
from fleetkit import ago, beat, metrics, report

ALERTS = REPO_ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = REPO_ROOT / "deploy" / "prometheus" / "alerts.test.yml"
GRAFANA = REPO_ROOT / "deploy" / "grafana" / "tributary.json"
NAME = re.compile(r"\btributary_[a-z0-9_]+")


def promtool(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is not installed: run scripts/bootstrap.sh (Debian package `prometheus`)", pytrace=False)
    return subprocess.run([tool, *args], input=input, capture_output=True, text=True, timeout=60)


def grafana_exprs() -> list[str]:
    dash = json.loads(GRAFANA.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if v.get("definition")]
    return exprs


def as_promql(expr: str) -> str:
    """A Grafana query with its variables filled in as Grafana would."""
    expr = expr.replace("$__rate_interval", "5m").replace('=~"$site"', '=~".*"')
    m = re.fullmatch(r"label_values\((\w+), *(\w+)\)", expr)
    return f"count by ({m.group(2)}) ({m.group(1)})" if m else expr


@pytest.fixture
def busy_core(core_factory):
    """A core whose /metrics has a sample in every family: a report, commits, a rejection, and a
    forward target (unreachable: its lag grows, which is what the forwarding alert reads)."""
    core = core_factory(args=["--forward-url", f"http://127.0.0.1:{free_port()}", "--forward-token", "trb_unreachable"])
    s = core.new_site("deploy")
    beat(s, report(pending=2, oldest_age=30, dropped=1))
    s.upload_object(b"a,b\n1,2\n", "x.csv", captured_at=ago(5))
    url = s.create_ok(4, {"name": "y.csv", "stream": "s", "sha256": sha256_hex(b"nope")})
    assert s.patch(url, 0, b"abcd").status_code == 422
    return core


def exposed(core) -> set[str]:
    m = metrics(core)
    return set(m.types) | m.names()


def test_metrics_pass_promtool_lint(busy_core):
    text = metrics(busy_core).text
    p = promtool("check", "metrics", input=text)
    assert p.returncode == 0, f"promtool check metrics:\n{p.stdout}{p.stderr}"


def test_alert_rules_parse_and_pass_their_unit_tests():
    rules = yaml.safe_load(ALERTS.read_text())
    names = [r["alert"] for g in rules["groups"] for r in g["rules"]]
    for want in ["TributarySiteOffline", "TributaryBacklogGrowing", "TributaryOldestPendingTooOld", "TributaryEdgeDropping"]:
        assert want in names
    tested = {a["alertname"] for t in yaml.safe_load(ALERT_TESTS.read_text())["tests"] for a in t["alert_rule_test"]}
    assert set(names) <= tested, f"alerts without a unit test: {set(names) - tested}"
    p = promtool("check", "rules", str(ALERTS))
    assert p.returncode == 0, p.stdout + p.stderr
    p = subprocess.run([shutil.which("promtool"), "test", "rules", ALERT_TESTS.name], cwd=ALERT_TESTS.parent,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_alerts_and_dashboard_use_exposed_metrics(busy_core, tmp_path):
    have = exposed(busy_core)
    rules = yaml.safe_load(ALERTS.read_text())
    used = {n for g in rules["groups"] for r in g["rules"] for n in NAME.findall(r["expr"])}
    exprs = grafana_exprs()
    used |= {n for e in exprs for n in NAME.findall(e)}
    missing = sorted(used - have)
    assert not missing, f"deploy/ names metrics the core does not expose: {missing}"
    # Every dashboard query parses as PromQL (as a recording rule that promtool checks).
    recording = {"groups": [{"name": "grafana", "rules": [
        {"record": f"tributary:grafana_query_{i}", "expr": as_promql(e)} for i, e in enumerate(exprs)]}]}
    f = tmp_path / "grafana-queries.yml"
    f.write_text(yaml.safe_dump(recording))
    p = promtool("check", "rules", str(f))
    assert p.returncode == 0, p.stdout + p.stderr


def test_grafana_dashboard_is_importable():
    dash = json.loads(GRAFANA.read_text())
    assert dash["title"] and dash["uid"] and dash["panels"]
    assert {i["name"] for i in dash["__inputs"]} == {"DS_PROMETHEUS"}
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
        assert all(t["expr"] for t in p["targets"]), p["title"]
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
    titles = " ".join(p["title"] for p in dash["panels"]).lower()
    for what in ["backlog", "oldest pending", "last seen", "spool", "drops", "stored", "rejected", "ingest lag", "commit duration",
                 "upload duration"]:
        assert what in titles, what
