// Values the bundler writes into the code (see build.mjs).

/** The README's example queries, read at build time. */
declare const PARTNERGRAPH_EXAMPLES: { title: string; query: string }[];

declare module '*.css';
