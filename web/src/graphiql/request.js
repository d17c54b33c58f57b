/**
 * The headers editor's JSON with `Authorization: Bearer <token>` set (or
 * removed, for an empty token), keeping every other header. Text that is
 * not a JSON object is replaced.
 * @param {string} current the headers editor's text
 * @param {string} token the write token
 * @returns {string}
 */
export function tokenHeaders(current, token) {
  /** @type {Record<string, unknown>} */
  let headers = {};
  try {
    const parsed = JSON.parse(current || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) headers = parsed;
  } catch {
    headers = {};
  }
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() === 'authorization') delete headers[name];
  }
  const trimmed = token.trim();
  if (trimmed) headers.Authorization = `Bearer ${trimmed}`;
  return JSON.stringify(headers, null, 2);
}

/**
 * The operation to run: `name` when the document defines it, else the
 * document's only operation. GraphiQL can send the operation name of the
 * tab it showed before (switching tabs and running at once), which the
 * server would refuse as unknown.
 * @param {import('graphql').DocumentNode | null} document the parsed query, null when it does not parse
 * @param {string | null | undefined} name
 * @returns {string | undefined}
 */
export function operationFor(document, name) {
  if (!document) return name ?? undefined;
  const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition');
  if (operations.some((o) => o.name?.value === name)) return name ?? undefined;
  return operations.length === 1 ? operations[0]?.name?.value : name ?? undefined;
}
