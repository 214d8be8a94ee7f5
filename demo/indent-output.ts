// A command's output under its prompt, two spaces in. Only lines with text: indenting the empty end
// after a final newline would push the next prompt two spaces in.
export function indentOutput(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}
