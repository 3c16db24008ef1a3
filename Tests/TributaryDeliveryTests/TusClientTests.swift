import Foundation
import Testing
import TributaryCurl
@testable import TributaryDelivery

@Suite struct TusClientTests {
    func answer(_ status: Int, _ code: String? = nil, retryAfter: String? = nil) -> HTTPResponse {
        let body = code.map { Array(#"{"error":"\#($0)","message":"m"}"#.utf8) } ?? []
        return HTTPResponse(status: status, headers: retryAfter.map { [("retry-after", $0)] } ?? [], body: body)
    }

    @Test func statusesMapToWhatTheUploaderDoes() {
        #expect(TusClient.failure(answer(401, "unauthorized")).kind == .unauthorized)
        #expect(TusClient.failure(answer(404, "not_found")).kind == .gone)
        #expect(TusClient.failure(answer(410, "expired")).kind == .gone)
        #expect(TusClient.failure(answer(460, "checksum_mismatch")).kind == .corrupted)
        #expect(TusClient.failure(answer(409, "offset_mismatch")).kind == .offsetMismatch)
        #expect(TusClient.failure(answer(409, "upload_busy")).kind == .transient)
        #expect(TusClient.failure(answer(422, "corrupt_segment")).kind == .rejected)
        let busy = TusClient.failure(answer(503, "unavailable", retryAfter: "7"))
        #expect(busy.kind == .transient && busy.retryAfter == 7 && busy.code == "unavailable")
    }

    @Test func aHEADAnswerCarriesItsErrorCodeInAHeader() {
        let quarantined = HTTPResponse(status: 422, headers: [("tributary-error", "quarantined")], body: [])
        let e = TusClient.readFailure(quarantined)
        #expect(e.code == UploadError.quarantinedCode)
        #expect(e.kind == .rejected, "the core's word that the upload is set aside stands")
        #expect(TusClient.readFailure(HTTPResponse(status: 422, headers: [], body: [])).kind == .transient)
    }

    @Test func aRefusalOfAReadIsADamagedRequestNotARefusedBatch() {
        // A HEAD or GET answered 400 carries no verdict on the content: retry, never quarantine.
        #expect(TusClient.readFailure(answer(400)).kind == .transient)
        #expect(TusClient.readFailure(answer(422)).kind == .transient)
        #expect(TusClient.readFailure(answer(404)).kind == .gone)
        #expect(TusClient.readFailure(answer(401)).kind == .unauthorized)
    }
}

@Suite struct CurlCancelTests {
    /// A cancel that lands between two transfers is not lost: the next one is aborted before it
    /// starts (no connection attempt), until the flag is reset.
    @Test func aCancelBetweenTransfersAbortsTheNextOne() throws {
        let session = CurlSession()
        session.cancel()
        let request = HTTPRequest(method: "GET", url: "http://127.0.0.1:9/never")
        do {
            _ = try session.perform(request)
            Issue.record("a cancelled session performed a transfer")
        } catch {
            #expect(error.aborted && error.message == "cancelled")
        }
        session.resetCancellation()
        do {
            _ = try session.perform(request, options: { var o = TransferOptions(); o.connectTimeout = 2; return o }())
        } catch {
            #expect(!error.aborted)  // it tried: port 9 refuses
        }
    }
}
