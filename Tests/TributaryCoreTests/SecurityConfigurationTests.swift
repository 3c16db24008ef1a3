import Foundation
import Testing
@testable import TributaryCore
import TributaryTestKit

/// The configuration keys of issue 11: TLS files given together, secrets from files.
@Suite("Security configuration")
struct SecurityConfigurationTests {
    @Test("secrets are read from *_file (first line); a value given directly wins")
    func secretFiles() throws {
        let dir = try TemporaryDirectory(prefix: "tributary-secrets")
        let secret = dir.path("admin_token")
        try Data("adm_from_file\nignored\n".utf8).write(to: URL(fileURLWithPath: secret))
        let toml = dir.path("core.toml")
        try Data("[core]\nadmin_token_file = \"\(secret)\"\n".utf8).write(to: URL(fileURLWithPath: toml))
        #expect(try CoreConfiguration.load(file: toml, environment: [:]).adminToken == "adm_from_file")
        #expect(try CoreConfiguration.load(file: toml, environment: ["TRIBUTARY_ADMIN_TOKEN": "adm_env"]).adminToken == "adm_env")
        let pw = try CoreConfiguration.load(file: nil, environment: ["TRIBUTARY_CATALOG_PASSWORD_FILE": secret, "PGPASSWORD": "other"])
        #expect(pw.catalogPassword == "adm_from_file")
        #expect(throws: ConfigurationError.self) {
            try CoreConfiguration.load(file: nil, environment: ["TRIBUTARY_METRICS_TOKEN_FILE": dir.path("missing")])
        }
    }

    @Test("tls_cert and tls_key go together; tls_client_ca needs them")
    func tlsFiles() throws {
        var c = CoreConfiguration()
        #expect(try c.tlsFiles() == nil)
        #expect(throws: ConfigurationError.self) { try c.apply(["tls_cert": "/c.pem"]) }
        c = CoreConfiguration()
        #expect(throws: ConfigurationError.self) { try c.apply(["tls_client_ca": "/ca.pem"]) }
        c = CoreConfiguration()
        try c.apply(["tls_cert": "/c.pem", "tls_key": "/k.pem", "tls_client_ca": "/ca.pem", "token_grace_seconds": "60"])
        #expect(try c.tlsFiles() == ServerTLS.Files(certificateChain: "/c.pem", privateKey: "/k.pem", clientCA: "/ca.pem"))
        #expect(c.tokenGraceSeconds == 60)
    }

    @Test("a TLS key that does not load is a configuration error naming the files, not a crash")
    func unusableFiles() throws {
        let dir = try TemporaryDirectory(prefix: "tributary-tls")
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: dir.path("c.pem")))
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: dir.path("k.pem")))
        #expect(throws: ConfigurationError.self) {
            _ = try ServerTLS(files: .init(certificateChain: dir.path("c.pem"), privateKey: dir.path("k.pem")))
        }
    }

    @Test("PostgreSQL sslmode as in libpq, with sslrootcert")
    func sslModes() throws {
        for mode in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            #expect(try PostgresURL("postgres://u@h/db?sslmode=\(mode)").sslMode.rawValue == mode)
        }
        let u = try PostgresURL("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem")
        #expect(u.sslRootCert == "/etc/ca.pem")
        #expect(throws: ConfigurationError.self) { try PostgresURL("postgres://u@h/db?sslmode=allow-anything") }
    }
}
