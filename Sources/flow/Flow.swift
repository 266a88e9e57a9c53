import ArgumentParser
import FlowEngine
import Foundation

/// `flow`: run workflows, follow their logs, inspect runs.
struct Flow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flow",
        abstract: "A declarative workflow engine for fine-tuning open LLMs on your own machines.",
        version: FlowVersion.current,
        subcommands: [RunCommand.self, LogsCommand.self, RunsCommand.self, StopCommand.self, GraphCommand.self,
                      SecretCommand.self, VolumeCommand.self, LLMCommand.self, InspectCommand.self, HostsCommand.self,
                      ReportCommand.self])
}

@main
enum Main {
    static func main() async {
        let args = Array(CommandLine.arguments.dropFirst())
        let command: ParsableCommand
        do {
            command = try Flow.parseAsRoot(args)
        } catch {
            finish(parserError: error)   // --help, --version, a wrong argument
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var sync = command
                try sync.run()
            }
        } catch let error as FlowError {
            Terminal.error(error)
            exit(error.exitCode)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            finish(parserError: error)   // `flow` alone, `flow llm`: a command group asks for its help from run()
        }
        exit(0)
    }

    /// Ends on an error of the argument parser: a request for help or the version is printed on standard output
    /// (written at once, with exit 0), anything else on standard error with exit 2.
    static func finish(parserError error: Error) -> Never {
        let message = Flow.fullMessage(for: error)
        if Flow.exitCode(for: error) == .success {
            if !message.isEmpty { FileHandle.standardOutput.write(Data((message + "\n").utf8)) }
            exit(0)
        }
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}

/// Shared opening of the project and its store.
struct Session {
    let project: Project
    let database: RunDatabase

    init() throws {
        project = try Project.find()
        database = try RunDatabase(url: project.databaseURL)
    }

    func loader() throws -> WorkflowLoader {
        WorkflowLoader(
            project: project,
            compiler: WorkflowCompiler(
                toolchain: try SwiftToolchain.locate(),
                cacheDirectory: project.cacheDirectory.appendingPathComponent("workflows")))
    }
}

/// Colours only on a terminal and never with NO_COLOR.
enum Terminal {
    static let colors: Bool = isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    static func paint(_ text: String, _ code: String) -> String { colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    static func green(_ t: String) -> String { paint(t, "32") }
    static func red(_ t: String) -> String { paint(t, "31") }
    static func yellow(_ t: String) -> String { paint(t, "33") }
    static func dim(_ t: String) -> String { paint(t, "2") }
    static func bold(_ t: String) -> String { paint(t, "1") }

    static func error(_ error: FlowError) {
        let useColor = isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let head = useColor ? "\u{1B}[31merror:\u{1B}[0m" : "error:"
        FileHandle.standardError.write(Data("\(head) \(error.description)\n".utf8))
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Prints a line now (stdout may be a pipe a script follows).
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
