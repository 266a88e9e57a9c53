/// A workflow parameter; `flow run` accepts it as `--kebab-case-name VALUE`.
public struct Param: Sendable, Codable, Equatable {
    public let name: String
    public let defaultValue: String?
    public let help: String

    /// Declares a parameter; without a default the user must pass it.
    public init(_ name: String, default defaultValue: String? = nil, help: String = "") {
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
    }

    /// The command-line spelling: `learningRate` and `learning_rate` become `--learning-rate`.
    public var optionName: String { Param.kebabCase(name) }

    static func kebabCase(_ name: String) -> String {
        var out = ""
        for ch in name {
            if ch == "_" || ch == " " {
                out.append("-")
            } else if ch.isUppercase {
                if !out.isEmpty && out.last != "-" { out.append("-") }
                out.append(contentsOf: ch.lowercased())
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
