// The README's example queries, as GraphiQL tabs. Read at build time so
// that the page opens with exactly the queries the README shows.

/**
 * @typedef {{ title: string, query: string }} Example
 */

/**
 * An anonymous query (`{ … }`) named after its heading's first word, so
 * that its GraphiQL tab has a title: `fundingFlows — …` → `FundingFlows`.
 * @param {string} query
 * @param {string} title
 * @param {number} index
 */
function named(query, title, index) {
  if (!query.trimStart().startsWith('{')) return query;
  const word = /[A-Za-z_]\w*/.exec(title)?.[0] ?? `Example${index + 1}`;
  return `query ${word.charAt(0).toUpperCase()}${word.slice(1)} ${query.trimStart()}`;
}

/**
 * Every `### heading` under `## Example queries` with the first ```graphql
 * block below it, as a query headed by the heading as a comment.
 * @param {string} readme the README's Markdown
 * @returns {Example[]}
 */
export function readmeExamples(readme) {
  const start = readme.indexOf('\n## Example queries');
  if (start < 0) return [];
  const rest = readme.slice(start + 1);
  const next = rest.indexOf('\n## ', 3);
  const section = next < 0 ? rest : rest.slice(0, next);
  /** @type {Example[]} */
  const examples = [];
  for (const part of section.split('\n### ').slice(1)) {
    const title = (part.split('\n', 1)[0] ?? '').replaceAll('`', '').trim();
    const block = /```graphql\n([\s\S]*?)```/.exec(part);
    if (title && block && block[1]) {
      examples.push({ title, query: `# ${title}\n${named(block[1], title, examples.length)}` });
    }
  }
  return examples;
}
