// swift-tools-version:6.1
import PackageDescription

// FlowKit is the workflow DSL and worker runtime that user workflow files compile against; it has
// no package dependencies so a workflow compiles with one `swiftc` call against `libFlowRuntime`.
// FlowEngine runs workflows (graph, processes, run database, logs, secrets). FlowLLM holds the
// built-in fine-tuning steps. The engine never imports FlowLLM.
let package = Package(
    name: "flow",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "flow", targets: ["flow"]),
        // What compiled workflow binaries link against: the DSL plus the built-in LLM steps.
        .library(name: "FlowRuntime", type: .dynamic, targets: ["FlowKit", "FlowLLM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .target(name: "CProcessSupport"),
        .target(name: "FlowKit"),
        .target(
            name: "FlowEngine",
            dependencies: [
                "FlowKit", "CProcessSupport", "CGit2", "CArchive",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]),
        .target(
            name: "FlowLLM",
            dependencies: [
                "FlowKit", "COpenBLAS", .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),
        .executableTarget(
            name: "flow",
            dependencies: [
                "FlowEngine", "FlowLLM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "FlowTesting", dependencies: ["FlowEngine", "CProcessSupport"]),
        .testTarget(name: "FlowKitTests", dependencies: ["FlowKit"]),
        .testTarget(name: "FlowEngineTests", dependencies: ["FlowEngine", "FlowTesting"]),
        .testTarget(
            name: "FlowLLMTests", dependencies: ["FlowLLM"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "FlowCLITests", dependencies: ["FlowEngine", "FlowTesting"]),
    ]
)
