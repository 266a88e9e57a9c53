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
        // The same, as an archive: remote workers link it with a static Swift standard library, so a host needs no
        // Swift toolchain.
        .library(name: "FlowRuntimeStatic", type: .static, targets: ["FlowKit", "FlowLLM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // No traits: the server needs neither swift-configuration nor the full-Foundation extras.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "CProcessSupport"),
        .target(name: "FlowKit"),
        .target(
            name: "FlowEngine",
            dependencies: [
                "FlowKit", "CProcessSupport", "CGit2", "CArchive", "CLibCrypto",
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
        // The OpenAI-compatible HTTP server over FlowLLM's generation (`flow llm serve`).
        .target(
            name: "FlowServe",
            dependencies: [
                "FlowLLM", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]),
        .executableTarget(
            name: "flow",
            dependencies: [
                "FlowEngine", "FlowLLM", "FlowServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "FlowTesting", dependencies: ["FlowEngine", "CProcessSupport"],
                // the sshd settings of the tests' SSHServer, also read by Benchmarks/remote/sshd-setup.sh
                resources: [.copy("sshd_config")]),
        .testTarget(name: "FlowKitTests", dependencies: ["FlowKit"]),
        .testTarget(name: "FlowEngineTests", dependencies: ["FlowEngine", "FlowTesting"]),
        .testTarget(
            name: "FlowLLMTests", dependencies: ["FlowLLM"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "FlowCLITests", dependencies: ["FlowEngine", "FlowTesting"]),
        .testTarget(name: "FlowServeTests", dependencies: ["FlowServe", "FlowLLM"], exclude: ["openai_client_check.py"]),
    ]
)
