/**
 * `--name value` options (repeatable: every value kept, in order), bare flags and positional
 * arguments. Shared by every subcommand that takes options.
 */
export function parseArgs(args: readonly string[], valued: readonly string[]): { options: Map<string, string[]>; flags: Set<string>; positional: string[]; bad: string | null } {
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) positional.push(arg);
    else if (valued.includes(arg.slice(2))) {
      const value = args[++i];
      if (value === undefined) return { options, flags, positional, bad: `${arg} needs a value` };
      options.set(arg.slice(2), [...(options.get(arg.slice(2)) ?? []), value]);
    } else flags.add(arg.slice(2));
  }
  return { options, flags, positional, bad: null };
}
