import { UsageError } from '../common/cli';
import type { Command, Group } from './command';

// `source <(ctl completion bash)`: completes groups, subcommands and each command's flags, from the
// same tables that parse them, so the completion can never drift from the commands.
export function completionGroup(groups: () => Group[], globalFlags: string[]): Group {
  const command: Command = {
    name: 'completion',
    summary: 'print a bash completion script: source <(ctl completion bash)',
    usage: 'ctl completion bash',
    options: {},
    async run(ctx, _values, positionals) {
      if (positionals.length !== 1 || positionals[0] !== 'bash')
        throw new UsageError('expected "bash" (the only shell supported)');
      const all = groups();
      const cases = all.map((g) => {
        const subs = g.single ? '' : g.commands.map((c) => c.name).join(' ');
        const flags = g.commands.map(
          (c) =>
            `${g.single ? g.name : `${g.name} ${c.name}`}) flags="${Object.keys(c.options)
              .map((o) => `--${o}`)
              .join(' ')}";;`,
        );
        return { group: `${g.name}) subs="${subs}";;`, flags };
      });
      ctx.out(`# bash completion for ctl (vxgossip)
_ctl() {
  local cur words cword
  cur="\${COMP_WORDS[COMP_CWORD]}"
  local args=() w
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do [[ $w == -* ]] || args+=("$w"); done
  local global="${globalFlags.join(' ')}"
  if [[ $cur == -* ]]; then
    local flags=""
    case "\${args[0]} \${args[1]}" in
${cases
  .flatMap((c) => c.flags)
  .map((l) => `      ${l.replace(/^([^)]*)\)/, (_m, p) => `"${p}"*)`)}`)
  .join('\n')}
    esac
    COMPREPLY=($(compgen -W "$flags $global" -- "$cur"))
    return
  fi
  if (( \${#args[@]} == 0 )); then
    COMPREPLY=($(compgen -W "${all.map((g) => g.name).join(' ')}" -- "$cur"))
  elif (( \${#args[@]} == 1 )); then
    local subs=""
    case "\${args[0]}" in
${cases.map((c) => `      ${c.group}`).join('\n')}
    esac
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  fi
}
complete -F _ctl ctl
`);
    },
  };
  return { name: 'completion', summary: 'shell completion (bash)', commands: [command], single: true };
}
