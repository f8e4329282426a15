// Rows of the Markdown tables in a document, each as its trimmed cells. Cell padding is layout
// (prettier aligns the columns), so the tests that check a table against the code read cells,
// not the raw line.
export function markdownTableRows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('|') && line.endsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}
