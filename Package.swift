// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "tributary",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tributary-core", targets: ["TributaryCoreCLI"]),
        .executable(name: "tributary-edge", targets: ["TributaryEdgeCLI"]),
        .executable(name: "tributary-faultproxy", targets: ["TributaryFaultProxyCLI"]),
        .library(name: "TributaryProtocol", targets: ["TributaryProtocol"]),
        .library(name: "TributaryCore", targets: ["TributaryCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian, through system-library targets.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // Linux calls Glibc's Swift module leaves out (syncfs).
        .systemLibrary(name: "CPosix"),

        // The contract both sides import: wire protocol, segment format, hashing, shared errors.
        .target(
            name: "TributaryProtocol",
            dependencies: ["CZstd", "CCrypto"],
            swiftSettings: swiftSettings
        ),
        // A thin SQLite wrapper shared by the core catalog and the edge journal.
        .target(
            name: "TributarySQLite",
            dependencies: ["CSQLite"],
            swiftSettings: swiftSettings
        ),
        // POSIX file helpers with the durability discipline (fsync file and directory).
        .target(
            name: "TributaryFiles",
            dependencies: ["TributaryProtocol", "CPosix"],
            swiftSettings: swiftSettings
        ),
        // A TOML reader on the standard library only (no Foundation: the edge binary stays small).
        .target(
            name: "TributaryTOML",
            dependencies: [],
            swiftSettings: swiftSettings
        ),
        // Reading TOML configuration files (core and edge alike).
        .target(
            name: "TributarySettings",
            dependencies: [
                "TributaryFiles", "TributaryTOML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A blocking HTTP client over libcurl: the edge's tus client and the core's S3 lake.
        .target(
            name: "TributaryCurl",
            dependencies: ["CCurl"],
            swiftSettings: swiftSettings
        ),
        // What the edge's uploader and the core's forwarder share to deliver to a core: the tus
        // client, the upload session state machine, chunk sizing, link backoff, bandwidth
        // windows. No SwiftNIO (the edge links it).
        .target(
            name: "TributaryDelivery",
            dependencies: ["TributaryProtocol", "TributaryCurl", "TributarySettings"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TributaryCore",
            dependencies: [
                "TributaryProtocol",
                "TributaryDelivery",
                "TributarySQLite",
                "TributaryFiles",
                "TributarySettings",
                "TributaryCurl",
                "CPosix",
                "CCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // The command-line plumbing both executables share: options -> settings, logging
        // bootstrap, running a ServiceGroup with graceful shutdown, usage errors.
        .target(
            name: "TributaryCommandLine",
            dependencies: [
                "TributarySettings",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "TributaryCoreCLI",
            dependencies: [
                "TributaryCore", "TributaryCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The edge agent: no SwiftNIO (libcurl, SQLite, zstd, POSIX).
        .target(
            name: "TributaryEdge",
            dependencies: [
                "TributaryProtocol",
                "TributaryDelivery",
                "TributarySQLite",
                "TributaryCurl",
                "TributaryFiles",
                "TributarySettings",
                "CPosix",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "TributaryEdgeCLI",
            dependencies: [
                "TributaryEdge", "TributaryCommandLine", "CPosix",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The fault-injecting TCP proxy (tests, demo, link rehearsal).
        .target(
            name: "TributaryFaultProxy",
            dependencies: [],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "TributaryFaultProxyCLI",
            dependencies: [
                "TributaryFaultProxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TributaryTestKit",
            dependencies: ["TributaryProtocol", "TributaryDelivery"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TributaryProtocolTests",
            dependencies: ["TributaryProtocol", "TributaryTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TributaryEdgeTests",
            dependencies: ["TributaryEdge", "TributaryProtocol", "TributaryTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TributaryDeliveryTests",
            dependencies: ["TributaryDelivery", "TributaryProtocol", "TributaryCurl", "TributarySettings", "TributaryTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TributaryTOMLTests",
            dependencies: ["TributaryTOML"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TributaryFaultProxyTests",
            dependencies: ["TributaryFaultProxy", "TributaryTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TributaryCoreTests",
            dependencies: [
                "TributaryCore", "TributaryProtocol", "TributaryTestKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
