// `tally completion bash|zsh`: a tab-completion script for the shell, generated from the
// commands and options registered on the program, so it cannot fall behind them.
import { Argument, type Command } from 'commander';
import type { CliContext } from './context.ts';

const shells = ['bash', 'zsh'] as const;
type Shell = typeof shells[number];

interface CommandSpec { name: string; summary: string; options: string[]; takesFile: boolean }

function specsOf(program: Command): CommandSpec[] {
  const help: CommandSpec = { name: 'help', summary: 'help for a command', options: [], takesFile: false };
  return [...program.commands.map((command) => ({
    name: command.name(),
    summary: command.description().split(/[;(]/)[0]!.trim().slice(0, 70),
    options: [...command.options.map((option) => option.long ?? option.short!), '--help'],
    takesFile: command.registeredArguments.some((argument) => argument.name() === 'file'),
  })), help];
}

function bashScript(specs: CommandSpec[]): string {
  const cases = specs.map((spec) => `    ${spec.name}) options="${spec.options.join(' ')}" ;;`).join('\n');
  const names = specs.map((spec) => spec.name).join(' ');
  return `# tally completion for bash: source <(tally completion bash), or save this output as
# ~/.local/share/bash-completion/completions/tally
_tally() {
  local cur=\${COMP_WORDS[COMP_CWORD]} command=\${COMP_WORDS[1]} options=""
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${names} --help --version" -- "$cur"))
    return
  fi
  case $command in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  elif [[ $command == completion && $COMP_CWORD -eq 2 ]]; then
    COMPREPLY=($(compgen -W "${shells.join(' ')}" -- "$cur"))
  elif [[ $command == help && $COMP_CWORD -eq 2 ]]; then
    COMPREPLY=($(compgen -W "${names}" -- "$cur"))
  elif [[ " ${specs.filter((spec) => spec.takesFile).map((spec) => spec.name).join(' ')} " == *" $command "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=()
  fi
}
complete -F _tally tally
`;
}

const zshQuote = (text: string) => `'${text.replaceAll(':', '\\:').replaceAll("'", "'\\''")}'`;

function zshScript(specs: CommandSpec[]): string {
  const described = specs.map((spec) => `    ${zshQuote(`${spec.name}:${spec.summary}`)}`).join('\n');
  const cases = specs.map((spec) => {
    const rest = spec.name === 'completion' ? `compadd -- ${shells.join(' ')}`
      : spec.name === 'help' ? "_describe 'tally command' commands"
      : spec.takesFile ? '_files' : ':';
    return `    ${spec.name}) if [[ $PREFIX == -* ]]; then compadd -- ${spec.options.join(' ')}; else ${rest}; fi ;;`;
  }).join('\n');
  return `#compdef tally
# tally completion for zsh: source <(tally completion zsh), or save this output as _tally in a
# folder of $fpath
_tally() {
  local -a commands
  commands=(
${described}
  )
  if (( CURRENT == 2 )); then
    _describe 'tally command' commands
    return
  fi
  case $words[2] in
${cases}
  esac
}
if [[ $funcstack[1] == _tally ]]; then _tally "$@"; else compdef _tally tally; fi
`;
}

export function registerCompletionCommand(program: Command, context: CliContext): void {
  program.command('completion')
    .description('print a tab-completion script: source <(tally completion bash), or zsh')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(shells))
    .action((shell: Shell) => {
      const specs = specsOf(program);
      context.print((shell === 'bash' ? bashScript(specs) : zshScript(specs)).trimEnd());
    });
}
