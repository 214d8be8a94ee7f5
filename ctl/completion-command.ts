import { UsageError } from '../common/cli';
import type { Command, Group } from './command';

// One function for both shells (zsh runs it through bashcompinit): it hands ctl the line up to the
// cursor, and ctl answers from the same tables that parse commands (and asks the server for VNIs and
// node names). The line, not COMP_WORDS: bash splits words at ':' and '=', cutting HOST:PORT in three.
// The program is the line's first word, so a ctl that is not on PATH completes too.
const FUNCTION = `_ctl() {
  local IFS=$'\\n' line="\${COMP_LINE:0:$COMP_POINT}"
  COMPREPLY=($("\${line%% *}" __complete "$line" 2>/dev/null))
}`;

const SCRIPTS: Record<string, string> = {
  bash: `# bash completion for ctl (vxgossip): source <(ctl completion bash)
${FUNCTION}
complete -F _ctl ctl
`,
  zsh: `# zsh completion for ctl (vxgossip): source <(ctl completion zsh), after compinit in ~/.zshrc
(( $+functions[compdef] )) || { autoload -U compinit && compinit; }
autoload -U +X bashcompinit && bashcompinit
${FUNCTION}
complete -F _ctl ctl
`,
};

export const completionGroup: Group = {
  name: 'completion',
  summary: 'shell completion (bash, zsh)',
  single: true,
  commands: [
    {
      name: 'completion',
      summary: 'print a completion script: source <(ctl completion bash), or source <(ctl completion zsh)',
      usage: 'ctl completion bash|zsh',
      details:
        '  Completes commands, subcommands and flags, and VNIs and node names as the server named by the\n' +
        '  global flags already typed lists them (within 2 s; nothing when it cannot be reached).',
      options: {},
      completes: Object.keys(SCRIPTS),
      async run(ctx, _values, positionals) {
        const shell = positionals.length === 1 ? positionals[0] : '';
        if (!Object.hasOwn(SCRIPTS, shell))
          throw new UsageError(`expected the shell: ${Object.keys(SCRIPTS).join(' or ')}`);
        ctx.out(SCRIPTS[shell]);
      },
    } satisfies Command,
  ],
};
