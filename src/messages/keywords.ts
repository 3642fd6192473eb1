// Compliance keywords in an incoming text: STOP and its synonyms, START, HELP. Pure.
// Case, spacing, punctuation and a trailing "please" do not matter: "Stop.", "stop please",
// "S T O P" does not count (a word is a word), "STOP IN ANY FORM" does.

export type Keyword = 'stop' | 'start' | 'help';

export interface KeywordLists {
  stop_words: readonly string[];
  start_words: readonly string[];
  help_words: readonly string[];
}

/** Upper-case words of the text: punctuation and symbols dropped, a trailing PLEASE removed. */
export function keywordWords(text: string): string[] {
  const words = text
    .normalize('NFKC')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
  while (words.length > 1 && (words[words.length - 1] === 'PLEASE' || words[words.length - 1] === 'PLS')) words.pop();
  return words;
}

function startsWithPhrase(words: readonly string[], phrase: string): boolean {
  const p = phrase.toUpperCase().split(/\s+/).filter(Boolean);
  return p.length > 0 && p.length <= words.length && p.every((w, i) => words[i] === w);
}

function isPhrase(words: readonly string[], phrase: string): boolean {
  return startsWithPhrase(words, phrase) && phrase.trim().split(/\s+/).length === words.length;
}

/**
 * STOP words count when the text is, or starts with, one of them (the law's side: "Stop texting
 * me" opts out). START and HELP words only when they are the whole text, so "Yes, Tuesday works"
 * is a reply, not a keyword.
 */
export function classifyKeyword(text: string, lists: KeywordLists): Keyword | undefined {
  const words = keywordWords(text);
  if (words.length === 0) return undefined;
  if (lists.stop_words.some((w) => startsWithPhrase(words, w))) return 'stop';
  if (lists.start_words.some((w) => isPhrase(words, w))) return 'start';
  if (lists.help_words.some((w) => isPhrase(words, w))) return 'help';
  return undefined;
}
