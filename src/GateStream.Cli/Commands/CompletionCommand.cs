using System.CommandLine;

namespace GateStream.Cli.Commands;

/// <summary>
/// <c>gatestream completion SHELL</c>: a script that asks gatestream itself for completions through System.CommandLine's
/// <c>[suggest:POSITION]</c> directive, so commands, options, their values (-o, --from) and gate ids never go stale.
/// </summary>
internal static class CompletionCommand
{
    public const string Examples = """
          source <(gatestream completion bash)                          this shell
          gatestream completion bash > /etc/bash_completion.d/gatestream  every new shell
          gatestream completion zsh > "${fpath[1]}/_gatestream"
          gatestream completion fish > ~/.config/fish/completions/gatestream.fish
        """;

    private static readonly Dictionary<string, string> Scripts = new(StringComparer.Ordinal)
    {
        ["bash"] = """
            # gatestream completion for bash: completions come from gatestream's own parser (System.CommandLine).
            _gatestream_complete() {
                local cur="${COMP_WORDS[COMP_CWORD]}" IFS=$'\n'
                local candidates
                read -d '' -ra candidates < <(gatestream "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
                read -d '' -ra COMPREPLY < <(compgen -W "${candidates[*]:-}" -- "$cur")
            }
            complete -o default -F _gatestream_complete gatestream

            """,
        ["zsh"] = """
            #compdef gatestream
            # gatestream completion for zsh: completions come from gatestream's own parser (System.CommandLine).
            _gatestream() {
                local -a candidates
                candidates=("${(@f)$(gatestream "[suggest:${#BUFFER[1,CURSOR]}]" "$BUFFER" 2>/dev/null)}")
                compadd -- "${candidates[@]}"
            }
            compdef _gatestream gatestream

            """,
        ["fish"] = """
            # gatestream completion for fish: completions come from gatestream's own parser (System.CommandLine).
            complete -c gatestream -f -a '(gatestream "[suggest:"(string length -- (commandline -cp))"]" (commandline -cp) 2>/dev/null)'

            """,
    };

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or fish." };
        shell.AcceptOnlyFromAmong([.. Scripts.Keys]);
        var command = new Command("completion", "Print a shell completion script (completions are computed by gatestream itself).") { shell };
        command.SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.Write(Scripts[parse.GetValue(shell)!]);
            return 0;
        });
        return command;
    }
}
