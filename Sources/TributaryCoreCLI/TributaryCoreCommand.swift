import ArgumentParser
import CoreMetrics
import Logging
import TributaryCommandLine
import TributaryCore

@main
struct TributaryCoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary-core",
        abstract: "Receives uploads from Tributary edge agents and lays them into a partitioned lake.",
        subcommands: [Serve.self, Sites.self])
}
