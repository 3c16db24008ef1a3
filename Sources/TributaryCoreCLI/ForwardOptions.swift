import ArgumentParser

/// `serve`'s forwarding flags (docs/REPLICATION.md, "Forwarding"); everything else of
/// forwarding is in `[forward]` of the TOML file.
struct ForwardOptions: ParsableArguments {
    @Option(help: "Forward every committed upload to this upstream core (env TRIBUTARY_FORWARD_URL; [forward] url).")
    var forwardUrl: String?
    @Option(help: "This core's relay token at the upstream (env TRIBUTARY_FORWARD_TOKEN; [forward] token or token_file).")
    var forwardToken: String?
    @Option(help: "This core's id in forwarding paths (env TRIBUTARY_CORE_ID; default generated into <data-dir>/core.id).")
    var coreId: String?

    var values: [String: String?] { ["forward_url": forwardUrl, "forward_token": forwardToken, "core_id": coreId] }
}
