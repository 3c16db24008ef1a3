import Testing
import TributaryProtocol

@Suite struct FixedDecimalsTests {
    /// What `String(format: "%.Nf")` printed before (the edge no longer links Foundation).
    @Test(arguments: [
        (0.0, 1, "0.0"), (12.345, 1, "12.3"), (99.96, 1, "100.0"), (0.3456, 3, "0.346"), (1.0, 3, "1.000"),
        (-2.26, 1, "-2.3"), (-0.04, 1, "0.0"), (7.5, 0, "8"), (0.0004, 3, "0.000"), (1234567.891, 2, "1234567.89"),
        (Double.infinity, 1, "inf"), (Double.nan, 1, "nan"), (0.05, 1, "0.1"),
    ] as [(Double, Int, String)])
    func likePrintf(_ x: Double, _ places: Int, _ expected: String) {
        #expect(x.fixed(places) == expected)
    }
}
