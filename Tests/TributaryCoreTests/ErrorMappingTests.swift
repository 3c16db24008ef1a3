import Foundation
import Testing
@testable import TributaryCore
import TributaryProtocol

/// docs/PROTOCOL.md's error table against the one mapping from errors to statuses.
@Suite("Error mapping")
struct ErrorMappingTests {
    /// The (status, code) pairs of the "Errors" table: one row per status, codes in backticks.
    static func documentedPairs() throws -> Set<String> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/PROTOCOL.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let start = text.range(of: "## Errors\n") else { throw TributaryError(.io, "PROTOCOL.md has no Errors section") }
        let section = text[start.upperBound...].prefix { _ in true }.components(separatedBy: "\n## ").first ?? ""
        var out = Set<String>()
        for line in section.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 3, let status = Int(cells[1]) else { continue }
            for code in cells[2].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter({ $0.offset % 2 == 1 }).map(\.element) {
                out.insert("\(status) \(code)")
            }
        }
        return out
    }

    @Test("every status and code in PROTOCOL.md's table is what the mapping answers, and nothing else")
    func table() throws {
        let documented = try Self.documentedPairs()
        #expect(documented.count > 30, "the table was read")
        let mapped = ErrorMapping.documentedPairs
        #expect(documented.subtracting(mapped).sorted() == [], "documented but not mapped")
        #expect(mapped.subtracting(documented).sorted() == [], "mapped but not documented")
    }

    @Test("domain errors, catalog errors and limits map through the table")
    func mapping() {
        #expect(CoreError.from(DomainError.noUpload("x")).status == .notFound)
        #expect(CoreError.from(DomainError(.uploadBusy, "m")).status == .conflict)
        #expect(CoreError.from(SiteExistsError(site: "a")).code == "site_exists")
        #expect(CoreError.from(UnknownSiteError(site: "a")).status == .notFound)
        #expect(CoreError.from(CredentialExistsError(kind: .certSubject)).status == .conflict)
        let io = CoreError.from(TributaryError(.io, "/secret/path"))
        #expect(io.status == .serviceUnavailable && io.code == "unavailable" && !io.message.contains("/secret") && io.headers[.retryAfter] == "5")
        #expect(CoreError.from(TributaryError(.corruptSegment, "m")).status == .unprocessableContent)
        #expect(CoreError.from(LimitRefusal(.stagedQuota, "m", retryAfter: nil)).status == .contentTooLarge)
        let limited = CoreError.from(LimitRefusal(.stagedQuota, "m", retryAfter: 30))
        #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] == "30")
        #expect(CoreError.from(DomainError(.unauthorized, "m")).headers[.wwwAuthenticate] == "Bearer realm=\"tributary\"")
        #expect(CoreError.chunkChecksumMismatch("m").status.code == 460)
        struct Odd: Error {}
        #expect(CoreError.from(Odd()).status == .internalServerError)
    }
}
