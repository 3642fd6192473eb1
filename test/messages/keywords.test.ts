import { expect } from 'chai';
import { classifyKeyword } from '../../src/messages/keywords';

const LISTS = {
  stop_words: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT', 'STOP IN ANY FORM'],
  start_words: ['START', 'UNSTOP', 'YES'],
  help_words: ['HELP', 'INFO'],
};

describe('compliance keywords', () => {
  const cases: [string, ReturnType<typeof classifyKeyword>][] = [
    ['STOP', 'stop'],
    ['stop', 'stop'],
    [' Stop. ', 'stop'],
    ['stop please', 'stop'],
    ['STOP!!!', 'stop'],
    ['Stop texting me', 'stop'],
    ['ＳＴＯＰ', 'stop'], // full-width letters
    ['unsubscribe', 'stop'],
    ['Cancel', 'stop'],
    ['end', 'stop'],
    ['Quit.', 'stop'],
    ['opt-out', undefined], // two words, not OPTOUT
    ['optout', 'stop'],
    ['Stop in any form', 'stop'],
    ['stopall', 'stop'],
    ['STOPPED by yesterday', undefined],
    ['Please stop', undefined],
    ['start', 'start'],
    ['UNSTOP', 'start'],
    ['yes', 'start'],
    ['Yes, Tuesday works', undefined],
    ['help', 'help'],
    ['HELP please', 'help'],
    ['info', 'help'],
    ['Help me book', undefined],
    ['', undefined],
    ['🙂', undefined],
  ];
  for (const [text, want] of cases) {
    it(`${JSON.stringify(text)} → ${want ?? 'no keyword'}`, () => expect(classifyKeyword(text, LISTS)).to.equal(want));
  }
});
