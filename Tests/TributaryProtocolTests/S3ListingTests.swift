import Testing
import TributaryProtocol

@Suite struct S3ListingTests {
    static let page = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>site</Name><Prefix>in/</Prefix>
        <KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>
        <NextContinuationToken>tok&amp;1</NextContinuationToken>
        <Contents><Key>in/a/x&amp;y.csv</Key><LastModified>2026-11-30T10:00:00.000Z</LastModified>
        <ETag>&quot;abc123&quot;</ETag><Size>42</Size><Owner><ID>o</ID><DisplayName>d</DisplayName></Owner>
        <StorageClass>STANDARD</StorageClass></Contents>
        <Contents><Key>in/b/&#233;t&#xE9;.bin</Key><ETag>"def-2"</ETag><Size>0</Size></Contents>
        </ListBucketResult>
        """

    @Test func parsesARealisticPage() throws {
        let p = try S3ListingParser.parse(Array(Self.page.utf8))
        #expect(p.isTruncated && p.nextContinuationToken == "tok&1")
        #expect(p.objects == [
            S3ListedObject(key: "in/a/x&y.csv", etag: "abc123", size: 42, lastModified: "2026-11-30T10:00:00.000Z"),
            S3ListedObject(key: "in/b/été.bin", etag: "def-2", size: 0, lastModified: ""),
        ])
    }

    @Test func anEmptyListingIsEmpty() throws {
        let p = try S3ListingParser.parse(Array("<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>".utf8))
        #expect(p.objects.isEmpty && !p.isTruncated && p.nextContinuationToken == nil)
    }

    @Test(arguments: [
        "",  // nothing
        "<ListBucketResult><Contents><Key>a</Key>",  // truncated
        "<Error><Code>AccessDenied</Code></Error>",  // another document
        "<ListBucketResult></Wrong>",
        "<!DOCTYPE x [<!ENTITY a 'b'>]><ListBucketResult/>",
        "<ListBucketResult><!-- c --></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><ETag>e</ETag></Contents></ListBucketResult>",  // no size
        "<ListBucketResult><Contents><Key>a</Key><ETag>e</ETag><Size>18446744073709551616</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><ETag>e</ETag><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key></Key><ETag>e</ETag><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&bogus;</Key><ETag>e</ETag><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&#0;</Key><ETag>e</ETag><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Key>b</Key><ETag>e</ETag><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
        "<ListBucketResult/><ListBucketResult/>",
        "<ListBucketResult/>junk",
        "<ListBucketResult><a><b><c><d><e><f><g><h>x</h></g></f></e></d></c></b></a></ListBucketResult>",
    ])
    func refusesWhatIsNotAListing(_ text: String) {
        #expect(throws: TributaryError.self) { try S3ListingParser.parse(Array(text.utf8)) }
    }

    @Test func limitsHold() {
        var limits = S3ListingParser.Limits()
        limits.maxObjects = 1
        let two = "<ListBucketResult>" + String(repeating: "<Contents><Key>a</Key><ETag>e</ETag><Size>1</Size></Contents>", count: 2) + "</ListBucketResult>"
        #expect(throws: TributaryError.self) { try S3ListingParser.parse(Array(two.utf8), limits: limits) }
        let longKey = "<ListBucketResult><Contents><Key>" + String(repeating: "k", count: 1025) + "</Key><ETag>e</ETag><Size>1</Size></Contents></ListBucketResult>"
        #expect(throws: TributaryError.self) { try S3ListingParser.parse(Array(longKey.utf8)) }
        let longText = "<ListBucketResult><Owner>" + String(repeating: "x", count: 9000) + "</Owner></ListBucketResult>"
        #expect(throws: TributaryError.self) { try S3ListingParser.parse(Array(longText.utf8)) }
        let badUTF8: [UInt8] = Array("<ListBucketResult><Contents><Key>".utf8) + [0xFF, 0xFE] + Array("</Key><ETag>e</ETag><Size>1</Size></Contents></ListBucketResult>".utf8)
        #expect(throws: TributaryError.self) { try S3ListingParser.parse(badUTF8) }
    }
}
