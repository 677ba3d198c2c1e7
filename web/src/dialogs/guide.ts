// PC-4: walking the call guide: a tree of questions whose answers pick the
// next question. The walk is what the agent answered, in order; changing an
// earlier answer drops what followed it.
import type { CallGuide } from './api';

export interface Step {
  question: string;
  answer: string;
}

/** The question that follows an answer ('' when the guide ends there). */
export function nextQuestion(guide: CallGuide, question: string, answer: string): string {
  const q = guide.questions[question];
  if (!q) return '';
  if (q.kind === 'choice') return q.answers?.[answer] ?? '';
  return q.next ?? '';
}

/** The question to ask after the walk ('' when the guide is complete). */
export function currentQuestion(guide: CallGuide, walk: readonly Step[]): string {
  let expected = guide.start;
  for (const step of walk) {
    if (!expected || step.question !== expected) return expected;
    expected = nextQuestion(guide, step.question, step.answer);
  }
  return expected;
}

/** The walk with `answer` given to `question`: the steps up to it are kept, later ones dropped. */
export function answer(guide: CallGuide, walk: readonly Step[], question: string, value: string): Step[] {
  const index = walk.findIndex((s) => s.question === question);
  const kept = index >= 0 ? walk.slice(0, index) : [...walk];
  if (currentQuestion(guide, kept) !== question) return [...walk];
  const q = guide.questions[question];
  if (!q) return [...walk];
  if (q.kind === 'choice' && !(q.answers && value in q.answers)) return [...walk];
  if (q.kind === 'text' && value.trim() === '') return kept;
  return [...kept, { question, answer: q.kind === 'text' ? value.trim() : value }];
}

/** Whether the walk answers every question on its path to an end. */
export function isComplete(guide: CallGuide, walk: readonly Step[]): boolean {
  if (walk.length === 0) return false;
  return currentQuestion(guide, walk) === '' && isValidPath(guide, walk);
}

function isValidPath(guide: CallGuide, walk: readonly Step[]): boolean {
  let expected = guide.start;
  for (const step of walk) {
    if (step.question !== expected) return false;
    expected = nextQuestion(guide, step.question, step.answer);
  }
  return expected === '';
}
