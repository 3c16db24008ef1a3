import Testing
@testable import TributaryCore
import TributaryProtocol

/// Choosing backends by URL (issue 4): `--lake s3://…`, `--catalog postgres://…`, TOML and env.
@Suite("Backend configuration")
struct BackendConfigurationTests {
    @Test("defaults: filesystem lake and SQLite catalog in the data directory")
    func defaults() throws {
        let c = try CoreConfiguration.load(file: nil, environment: [:])
        #expect(try c.lakeLocation() == .directory("./tributary-data/core/lake"))
        #expect(try c.catalogLocation() == .sqlite("./tributary-data/core/catalog.sqlite"))
    }

    @Test("postgres:// URLs")
    func postgresURL() throws {
        let u = try PostgresURL("postgres://tributary:p%40ss@db.example:6432/lake?sslmode=require")
        #expect(u.user == "tributary")
        #expect(u.password == "p@ss")
        #expect(u.host == "db.example")
        #expect(u.port == 6432)
        #expect(u.database == "lake")
        #expect(u.sslMode == .require)
        #expect(!u.description.contains("p@ss"))
        let d = try PostgresURL("postgresql://me@127.0.0.1/db")
        #expect(d.port == 5432 && d.password == nil && d.sslMode == .prefer)
        for bad in ["mysql://a@b/c", "postgres://host/db", "postgres://a@b:99999/c", "postgres://a@b/", "postgres://a@b/c?x=1"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try PostgresURL(bad) }
        }
    }

    @Test("s3:// URLs")
    func s3URL() throws {
        let l = try S3Location("s3://my-lake/raw/tributary/")
        #expect(l.bucket == "my-lake" && l.prefix == "raw/tributary")
        #expect(l.objectKey("stream=a/x") == "raw/tributary/stream=a/x")
        #expect(try S3Location("s3://my-lake").objectKey("k") == "k")
        for bad in ["s3://", "s3://UPPER", "s3://ab", "s3://ok-bucket/../x", "file:///x"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try S3Location(bad) }
        }
    }

    @Test("S3 settings from TOML keys and the usual AWS variables")
    func s3Settings() throws {
        var c = try CoreConfiguration.load(
            file: nil,
            environment: [
                "TRIBUTARY_LAKE": "s3://lake/p", "AWS_ENDPOINT_URL": "http://127.0.0.1:8333/", "AWS_REGION": "eu-west-1",
                "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "TRIBUTARY_CATALOG": "postgres://u@h/db", "PGPASSWORD": "pw",
            ])
        #expect(try c.lakeLocation() == .s3(try S3Location("s3://lake/p")))
        #expect(c.s3.endpoint == "http://127.0.0.1:8333")
        #expect(c.s3.region == "eu-west-1")
        #expect(c.s3.usesPathStyle)
        #expect(c.s3.accessKeyID == "AK" && c.s3.secretAccessKey == "SK")
        guard case .postgres(let url) = try c.catalogLocation() else { Issue.record("not postgres"); return }
        #expect(url.password == "pw")
        try c.apply(["s3_path_style": "false", "s3_part_size_bytes": "8388608", "s3_conditional_create": "head"])
        #expect(!c.s3.usesPathStyle && c.s3.partSizeBytes == 8 << 20 && c.s3.conditionalCreate == "head")
        #expect(throws: ConfigurationError.self) { try c.apply(["s3_part_size_bytes": "1000"]) }
        #expect(throws: ConfigurationError.self) { try c.apply(["s3_conditional_create": "maybe"]) }
        #expect(throws: ConfigurationError.self) { try c.apply(["lake": "ftp://x"]) }
        #expect(throws: ConfigurationError.self) { try c.apply(["catalog_timeout_seconds": "0"]) }
    }

    @Test("S3 URLs are canonical: keys encoded per segment, query sorted")
    func s3URLs() throws {
        var s = S3Settings()
        s.endpoint = "http://127.0.0.1:8333"
        s.accessKeyID = "k"
        s.secretAccessKey = "s"
        let path = try S3Client(settings: s, location: try S3Location("s3://lake"))
        #expect(path.url("stream=v/a b+é.csv") == "http://127.0.0.1:8333/lake/stream%3Dv/a%20b%2B%C3%A9.csv")
        #expect(path.url("k", query: [("uploadId", "a/b"), ("partNumber", "2")]) == "http://127.0.0.1:8333/lake/k?partNumber=2&uploadId=a%2Fb")
        #expect(path.url(nil) == "http://127.0.0.1:8333/lake")
        s.pathStyle = false
        let virtual = try S3Client(settings: s, location: try S3Location("s3://lake"))
        #expect(virtual.url("k") == "http://lake.127.0.0.1:8333/k")
        s.endpoint = nil
        #expect(try S3Client(settings: s, location: try S3Location("s3://lake")).url("k") == "https://lake.s3.us-east-1.amazonaws.com/k")
    }

    @Test("node_id begins every upload id the node makes")
    func nodeID() throws {
        var c = try CoreConfiguration.load(file: nil, environment: ["TRIBUTARY_NODE_ID": "0a"])
        #expect(c.nodeID == "0a")
        let id = UploadID.make(node: c.nodeID)
        #expect(id.count == 32 && id.hasPrefix("0a") && Hex.isSHA256(id + id))
        #expect(UploadID.make(node: nil).count == 32)
        for bad in ["A0", "1", "abc", "zz"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try c.apply(["node_id": bad]) }
        }
    }
}
