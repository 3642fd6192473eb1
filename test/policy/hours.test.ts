import { expect } from 'chai';
import type { Closure, MinuteRange, WeeklyHours } from '../../src/config/types';
import {
  Schedule,
  buildWeeklyHours,
  hoursToday,
  isOpenAt,
  isValidTimeZone,
  localTime,
  nextOpen,
  parseClosure,
  parseDayKey,
  parseRanges,
} from '../../src/policy/hours';

// Instants are written as ISO strings with an explicit UTC offset, so the tests do not lean on
// luxon to say what a local time means.
const t = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test instant ${iso}`);
  return ms;
};

function hours(map: Record<string, string>): WeeklyHours {
  const r = buildWeeklyHours(Object.entries(map).map(([key, value]) => ({ key, value })));
  if (!r.ok) throw new Error(`test hours invalid: ${r.message}`);
  return r.value;
}

function closures(...values: string[]): Closure[] {
  return values.map((v) => {
    const r = parseClosure(v);
    if (!r.ok) throw new Error(`test closure invalid: ${r.message}`);
    return r.value;
  });
}

const CHICAGO = 'America/Chicago';
const BERLIN = 'Europe/Berlin';
const TOKYO = 'Asia/Tokyo';

const OFFICE = { 'mon-fri': '08:00-12:00,13:00-17:30', sat: '09:00-12:00' };
const office = (timezone: string, ...closed: string[]): Schedule => ({ timezone, hours: hours(OFFICE), closed: closures(...closed) });

describe('policy/hours', () => {
  describe('parseDayKey', () => {
    const good: [string, number[]][] = [
      ['mon', [0]],
      ['tue', [1]],
      ['wed', [2]],
      ['thu', [3]],
      ['fri', [4]],
      ['sat', [5]],
      ['sun', [6]],
      ['MON', [0]],
      ['Sun', [6]],
      ['monday', [0]],
      ['mon-fri', [0, 1, 2, 3, 4]],
      ['sat-sun', [5, 6]],
      ['fri-mon', [0, 4, 5, 6]],
      ['sun-tue', [0, 1, 6]],
      ['tue-mon', [0, 1, 2, 3, 4, 5, 6]],
      ['mon-mon', [0]],
      ['mon,wed,fri', [0, 2, 4]],
      ['mon-wed,fri', [0, 1, 2, 4]],
      ['sat,mon-tue', [0, 1, 5]],
      [' sat , sun ', [5, 6]],
      ['mon - fri', [0, 1, 2, 3, 4]],
    ];
    for (const [key, days] of good) {
      it(`${JSON.stringify(key)} → ${JSON.stringify(days)}`, () => {
        expect(parseDayKey(key)).to.deep.equal({ ok: true, value: days });
      });
    }

    const bad: [string, string, number][] = [
      ['', 'no day given; use mon, tue, wed, thu, fri, sat, sun', 0],
      ['   ', 'no day given; use mon, tue, wed, thu, fri, sat, sun', 0],
      ['mun', 'unknown day "mun"; use mon, tue, wed, thu, fri, sat, sun', 0],
      ['mon,tues', 'unknown day "tues"; use mon, tue, wed, thu, fri, sat, sun', 4],
      ['xyz-fri', 'unknown day "xyz"; use mon, tue, wed, thu, fri, sat, sun', 0],
      ['mon-xyz', 'unknown day "xyz"; use mon, tue, wed, thu, fri, sat, sun', 4],
      ['mon- xyz', 'unknown day "xyz"; use mon, tue, wed, thu, fri, sat, sun', 5],
      ['mon-', "expected a day after '-', like mon-fri", 3],
      ['-fri', "expected a day before '-', like mon-fri", 0],
      ['mon-wed-fri', "a day range has one '-', like mon-fri", 7],
      ['mon,,fri', "expected a day (mon, tue, wed, thu, fri, sat, sun) around ','", 4],
      ['mon,', "expected a day (mon, tue, wed, thu, fri, sat, sun) around ','", 3],
      [',mon', "expected a day (mon, tue, wed, thu, fri, sat, sun) around ','", 0],
      ['mon-fri,wed', 'wed is named twice in this key (already in "mon-fri")', 8],
      ['sat,sat', 'sat is named twice in this key (already in "sat")', 4],
    ];
    for (const [key, message, offset] of bad) {
      it(`rejects ${JSON.stringify(key)} at ${offset}: ${message}`, () => {
        expect(parseDayKey(key)).to.deep.equal({ ok: false, message, offset });
      });
    }
  });

  describe('parseRanges', () => {
    const good: [string, MinuteRange[]][] = [
      ['08:00-12:00,13:00-17:30', [[480, 720], [780, 1050]]],
      ['8:00-9:30', [[480, 570]]],
      ['0:00-0:01', [[0, 1]]],
      ['closed', []],
      ['CLOSED', []],
      ['  closed ', []],
      ['00:00-24:00', [[0, 1440]]],
      ['22:00-24:00', [[1320, 1440]]],
      ['12:00-13:00,13:00-14:00', [[720, 780], [780, 840]]],
      ['13:00-14:00,12:00-13:00', [[720, 780], [780, 840]]],
      ['17:00-18:00, 09:00-10:00 ,12:00-13:00', [[540, 600], [720, 780], [1020, 1080]]],
      [' 09:00 - 10:00 ', [[540, 600]]],
      ['23:59-24:00', [[1439, 1440]]],
    ];
    for (const [value, ranges] of good) {
      it(`${JSON.stringify(value)} → ${JSON.stringify(ranges)}`, () => {
        expect(parseRanges(value)).to.deep.equal({ ok: true, value: ranges });
      });
    }

    const bad: [string, string, number][] = [
      ['', 'no hours given; write ranges like 08:00-12:00, or closed', 0],
      ['  ', 'no hours given; write ranges like 08:00-12:00, or closed', 0],
      ['8am-5pm', '"8am" is not a time; write HH:MM (24-hour)', 0],
      ['08:00-5pm', '"5pm" is not a time; write HH:MM (24-hour)', 6],
      ['8:0-9:00', '"8:0" is not a time; write HH:MM (24-hour)', 0],
      ['108:00-109:00', '"108:00" is not a time; write HH:MM (24-hour)', 0],
      ['08.00-09.00', '"08.00" is not a time; write HH:MM (24-hour)', 0],
      ['08:00:00-09:00:00', '"08:00:00" is not a time; write HH:MM (24-hour)', 0],
      ['08:60-12:00', 'minutes 60 must be below 60', 3],
      ['08:00-12:75', 'minutes 75 must be below 60', 9],
      ['9:99-10:00', 'minutes 99 must be below 60', 2],
      ['25:00-26:00', 'hour 25 is past 24', 0],
      ['08:00-25:00', 'hour 25 is past 24', 6],
      ['08:00-12:00,13:00-99:00', 'hour 99 is past 24', 18],
      ['08:00-24:30', 'times run up to 24:00', 6],
      ['24:00-24:00', '24:00 can only end a range', 0],
      ['17:00-09:00', 'ranges cannot cross midnight; split it across two days', 6],
      ['22:00-02:00', 'ranges cannot cross midnight; split it across two days', 6],
      ['08:00-12:00, 22:00 - 2:00', 'ranges cannot cross midnight; split it across two days', 21],
      ['09:00-09:00', 'range "09:00-09:00" is empty: the end must be after the start', 6],
      ['08:00-12:00,11:00-13:00', '"11:00-13:00" overlaps "08:00-12:00"', 12],
      ['08:00-12:00, 09:00-10:00', '"09:00-10:00" overlaps "08:00-12:00"', 13],
      ['08:00-12:00,08:00-12:00', '"08:00-12:00" overlaps "08:00-12:00"', 12],
      ['13:00-17:00,07:00-14:00', '"07:00-14:00" overlaps "13:00-17:00"', 12],
      ['07:00-08:00,13:00-17:00,16:59-18:00', '"16:59-18:00" overlaps "13:00-17:00"', 24],
      ['00:00-24:00,12:00-13:00', '"12:00-13:00" overlaps "00:00-24:00"', 12],
      ['08:00', '"08:00" is not a time range; write HH:MM-HH:MM', 0],
      ['08:00-12:00-13:00', "a time range has one '-'; separate ranges with ','", 11],
      ['08:00-12:00,', "expected a time range like 08:00-12:00 around ','", 11],
      ['08:00-12:00,,13:00-14:00', "expected a time range like 08:00-12:00 around ','", 12],
      ['08:00-', "expected an end time HH:MM after '-'", 5],
      ['-12:00', "expected a start time HH:MM before '-'", 0],
      ['closed,08:00-12:00', '"closed" cannot be mixed with time ranges', 0],
      ['08:00-12:00, closed', '"closed" cannot be mixed with time ranges', 13],
    ];
    for (const [value, message, offset] of bad) {
      it(`rejects ${JSON.stringify(value)} at ${offset}: ${message}`, () => {
        expect(parseRanges(value)).to.deep.equal({ ok: false, message, offset });
      });
    }
  });

  describe('buildWeeklyHours', () => {
    const entries = (map: [string, string][]) => map.map(([key, value]) => ({ key, value }));

    it('builds the example from the docs; days not named are closed', () => {
      const r = buildWeeklyHours(entries([['mon-fri', '08:00-12:00,13:00-17:30'], ['sat', '09:00-12:00']]));
      const weekday: MinuteRange[] = [[480, 720], [780, 1050]];
      expect(r).to.deep.equal({ ok: true, value: { days: [weekday, weekday, weekday, weekday, weekday, [[540, 720]], []] } });
    });

    it('merges a day given in two keys when the ranges do not overlap, sorted', () => {
      const r = buildWeeklyHours(entries([['mon-fri', '13:00-17:00'], ['FRI', '08:00-12:00'], ['sun', '10:00-11:00']]));
      expect(r.ok).to.equal(true);
      if (r.ok) {
        expect(r.value.days[4]).to.deep.equal([[480, 720], [780, 1020]]);
        expect(r.value.days[0]).to.deep.equal([[780, 1020]]);
        expect(r.value.days[5]).to.deep.equal([]);
        expect(r.value.days[6]).to.deep.equal([[600, 660]]);
      }
    });

    it('accepts ranges that touch across keys', () => {
      const r = buildWeeklyHours(entries([['mon', '08:00-12:00'], ['mon,tue', '12:00-13:00']]));
      expect(r).to.deep.equal({ ok: true, value: { days: [[[480, 720], [720, 780]], [[720, 780]], [], [], [], [], []] } });
    });

    it('accepts a wrapping range and explicit closed days', () => {
      const r = buildWeeklyHours(entries([['fri-mon', '10:00-14:00'], ['tue-thu', 'closed'], ['wed', 'closed']]));
      const d: MinuteRange[] = [[600, 840]];
      expect(r).to.deep.equal({ ok: true, value: { days: [d, [], [], [], d, d, d] } });
    });

    const bad: [string, [string, string][], { message: string; offset: number; key?: string; part?: string }][] = [
      ['an empty mapping', [], { message: 'hours: no days given', offset: 0 }],
      [
        'a day in two keys with overlapping ranges',
        [['mon-fri', '09:00-17:00'], ['wed', '12:00-13:00']],
        { message: 'wed is given in "mon-fri" and "wed" with overlapping hours: 12:00-13:00 overlaps 09:00-17:00', offset: 0, key: 'wed', part: 'key' },
      ],
      [
        'the overlapping day listed later in the second key',
        [['mon-fri', '09:00-17:00'], ['sat, thu', '16:00-18:00']],
        { message: 'thu is given in "mon-fri" and "sat, thu" with overlapping hours: 16:00-18:00 overlaps 09:00-17:00', offset: 5, key: 'sat, thu', part: 'key' },
      ],
      [
        'the overlapping day inside a range in the second key',
        [['sun,mon', '08:00-09:00,10:00-11:00'], ['sat,sun-tue', '10:30-12:00']],
        { message: 'sun is given in "sun,mon" and "sat,sun-tue" with overlapping hours: 10:30-12:00 overlaps 10:00-11:00', offset: 4, key: 'sat,sun-tue', part: 'key' },
      ],
      [
        'the same key twice in different case',
        [['sat', '09:00-12:00'], ['SAT', '09:00-12:00']],
        { message: 'sat is given in "sat" and "SAT" with overlapping hours: 09:00-12:00 overlaps 09:00-12:00', offset: 0, key: 'SAT', part: 'key' },
      ],
      [
        'a day closed in a later key but with hours in an earlier one',
        [['mon-fri', '09:00-17:00'], ['wed', 'closed']],
        { message: 'wed is closed in "wed" but has hours in "mon-fri"', offset: 0, key: 'wed', part: 'key' },
      ],
      [
        'a day closed in an earlier key but with hours in a later one',
        [['wed', 'closed'], ['mon-fri', '09:00-17:00']],
        { message: 'wed has hours in "mon-fri" but is closed in "wed"', offset: 0, key: 'mon-fri', part: 'key' },
      ],
      [
        'a bad day key',
        [['mon', '09:00-10:00'], ['mon,fir', '09:00-10:00']],
        { message: 'unknown day "fir"; use mon, tue, wed, thu, fri, sat, sun', offset: 4, key: 'mon,fir', part: 'key' },
      ],
      [
        'a bad value',
        [['sat', '09:00-25:00']],
        { message: 'hour 25 is past 24', offset: 6, key: 'sat', part: 'value' },
      ],
      [
        'overlap within one value',
        [['sun', '10:00-12:00,11:00-13:00']],
        { message: '"11:00-13:00" overlaps "10:00-12:00"', offset: 12, key: 'sun', part: 'value' },
      ],
    ];
    for (const [name, given, error] of bad) {
      it(`rejects ${name}`, () => {
        expect(buildWeeklyHours(entries(given))).to.deep.equal({ ok: false, ...error });
      });
    }
  });

  describe('parseClosure', () => {
    const good: [string, Closure][] = [
      ['2026-12-25', { date: '2026-12-25' }],
      [' 2026-12-25 ', { date: '2026-12-25' }],
      ['2026-12-31 12:00-23:59', { date: '2026-12-31', range: [720, 1439] }],
      ['2026-12-31   9:00-24:00', { date: '2026-12-31', range: [540, 1440] }],
      ['2026-12-25 closed', { date: '2026-12-25' }],
      ['2024-02-29', { date: '2024-02-29' }],
      ['2000-02-29', { date: '2000-02-29' }],
      ['2026-01-31', { date: '2026-01-31' }],
    ];
    for (const [value, closure] of good) {
      it(`${JSON.stringify(value)} → ${JSON.stringify(closure)}`, () => {
        expect(parseClosure(value)).to.deep.equal({ ok: true, value: closure });
      });
    }

    const expectedDate = 'expected a date YYYY-MM-DD, optionally followed by a time range like 12:00-17:00';
    const bad: [string, string, number][] = [
      ['2026-02-30', '2026-02-30 is not a real date (Feb 2026 has 28 days)', 8],
      ['2025-02-29', '2025-02-29 is not a real date (Feb 2025 has 28 days)', 8],
      ['1900-02-29', '1900-02-29 is not a real date (Feb 1900 has 28 days)', 8],
      ['2026-04-31', '2026-04-31 is not a real date (Apr 2026 has 30 days)', 8],
      ['2026-12-00', '2026-12-00 is not a real date (Dec 2026 has 31 days)', 8],
      ['  2026-12-32', '2026-12-32 is not a real date (Dec 2026 has 31 days)', 10],
      ['2026-13-01', 'month 13 does not exist', 5],
      ['2026-00-10', 'month 00 does not exist', 5],
      ['', expectedDate, 0],
      ['Dec 25', expectedDate, 0],
      ['26-12-25', expectedDate, 0],
      ['2026-1-5', expectedDate, 0],
      ['2026-12-255', expectedDate, 0],
      ['2026-12-25T12:00-13:00', 'expected a space, then a time range like 12:00-17:00', 10],
      ['2026-12-31 9am', '"9am" is not a time range; write HH:MM-HH:MM', 11],
      ['2026-12-31 12:00-25:00', 'hour 25 is past 24', 17],
      ['2026-12-31 14:00-12:00', 'ranges cannot cross midnight; split it across two days', 17],
      ['2026-12-31 12:00-12:00', 'range "12:00-12:00" is empty: the end must be after the start', 17],
      ['2026-12-31 09:00-10:00,11:00-12:00', 'one time range per closure; list the date again for another range', 22],
    ];
    for (const [value, message, offset] of bad) {
      it(`rejects ${JSON.stringify(value)} at ${offset}: ${message}`, () => {
        expect(parseClosure(value)).to.deep.equal({ ok: false, message, offset });
      });
    }
  });

  describe('isValidTimeZone', () => {
    const cases: [string, boolean][] = [
      [CHICAGO, true],
      [BERLIN, true],
      [TOKYO, true],
      ['UTC', true],
      ['Etc/GMT+5', true],
      ['Mars/Olympus_Mons', false],
      ['America/Chicgo', false],
      ['', false],
      ['+05:00', false],
    ];
    for (const [zone, valid] of cases) {
      it(`${JSON.stringify(zone)} → ${valid}`, () => expect(isValidTimeZone(zone)).to.equal(valid));
    }
  });

  describe('isOpenAt', () => {
    type Case = [string, Schedule, string, boolean];
    const chicago = office(CHICAGO);
    const tokyo = office(TOKYO);
    const berlin = office(BERLIN);
    const alwaysOpen: Schedule = { timezone: CHICAGO, closed: [] };
    const cases: Case[] = [
      // an ordinary Wednesday, the instants either side of each boundary
      ['Chicago Wed just before opening', chicago, '2026-06-03T07:59:59-05:00', false],
      ['Chicago Wed at opening', chicago, '2026-06-03T08:00:00-05:00', true],
      ['Chicago Wed just before lunch', chicago, '2026-06-03T11:59:59.999-05:00', true],
      ['Chicago Wed at lunch', chicago, '2026-06-03T12:00:00-05:00', false],
      ['Chicago Wed during lunch', chicago, '2026-06-03T12:59:59-05:00', false],
      ['Chicago Wed after lunch', chicago, '2026-06-03T13:00:00-05:00', true],
      ['Chicago Wed just before closing', chicago, '2026-06-03T17:29:59-05:00', true],
      ['Chicago Wed at closing', chicago, '2026-06-03T17:30:00-05:00', false],
      ['Chicago Sat morning', chicago, '2026-06-06T09:00:00-05:00', true],
      ['Chicago Sat noon', chicago, '2026-06-06T12:00:00-05:00', false],
      ['Chicago Sun (not named)', chicago, '2026-06-07T10:00:00-05:00', false],
      ['Chicago in winter (CST)', chicago, '2026-01-14T08:00:00-06:00', true],
      ['Chicago in winter, an hour early by CDT', chicago, '2026-01-14T08:00:00-05:00', false],
      // Tokyo: no daylight saving
      ['Tokyo Wed just before opening', tokyo, '2026-06-03T07:59:59+09:00', false],
      ['Tokyo Wed at opening', tokyo, '2026-06-03T08:00:00+09:00', true],
      ['Tokyo Wed just before closing', tokyo, '2026-06-03T17:29:59+09:00', true],
      ['Tokyo Wed at closing', tokyo, '2026-06-03T17:30:00+09:00', false],
      ['Tokyo in January, same offset', tokyo, '2026-01-14T08:00:00+09:00', true],
      // the same instant is Wed 08:00 in Tokyo but Tue 18:00 in Chicago
      ['Tokyo: Wed 08:00 local', tokyo, '2026-06-02T23:00:00Z', true],
      ['Chicago: Tue 18:00 local', chicago, '2026-06-02T23:00:00Z', false],
      ['Berlin: Wed 01:00 local', berlin, '2026-06-02T23:00:00Z', false],
      ['Berlin Wed at opening (CEST)', berlin, '2026-06-03T08:00:00+02:00', true],
      ['no hours: always open', alwaysOpen, '2026-06-07T03:00:00-05:00', true],
    ];
    for (const [name, schedule, iso, open] of cases) {
      it(`${name}: ${iso} → ${open ? 'open' : 'closed'}`, () => expect(isOpenAt(schedule, t(iso))).to.equal(open));
    }

    describe('daylight-saving days go by the wall clock', () => {
      const sun = (timezone: string, value: string): Schedule => ({ timezone, hours: hours({ sun: value }), closed: [] });
      const dst: Case[] = [
        // America/Chicago, spring forward 2026-03-08: 02:00 CST → 03:00 CDT
        ['Chicago spring, 00:59 CST', sun(CHICAGO, '01:00-03:00'), '2026-03-08T00:59:00-06:00', false],
        ['Chicago spring, 01:00 CST', sun(CHICAGO, '01:00-03:00'), '2026-03-08T01:00:00-06:00', true],
        ['Chicago spring, 01:59:59 CST', sun(CHICAGO, '01:00-03:00'), '2026-03-08T01:59:59-06:00', true],
        ['Chicago spring, 03:00 CDT (one real second later)', sun(CHICAGO, '01:00-03:00'), '2026-03-08T03:00:00-05:00', false],
        ['Chicago spring, 03:00 CDT inside 02:30-05:00', sun(CHICAGO, '02:30-05:00'), '2026-03-08T03:00:00-05:00', true],
        ['Chicago spring, 01:59 CST before 02:30-05:00', sun(CHICAGO, '02:30-05:00'), '2026-03-08T01:59:59-06:00', false],
        ['Chicago spring, 04:59 CDT', sun(CHICAGO, '02:30-05:00'), '2026-03-08T04:59:00-05:00', true],
        ['Chicago spring, 05:00 CDT', sun(CHICAGO, '02:30-05:00'), '2026-03-08T05:00:00-05:00', false],
        ['Chicago spring, 02:00-03:00 never happens (before)', sun(CHICAGO, '02:00-03:00'), '2026-03-08T01:59:59-06:00', false],
        ['Chicago spring, 02:00-03:00 never happens (after)', sun(CHICAGO, '02:00-03:00'), '2026-03-08T03:00:00-05:00', false],
        // America/Chicago, fall back 2026-11-01: 02:00 CDT → 01:00 CST
        ['Chicago fall, 00:59 CDT', sun(CHICAGO, '01:00-02:00'), '2026-11-01T00:59:00-05:00', false],
        ['Chicago fall, 01:00 CDT', sun(CHICAGO, '01:00-02:00'), '2026-11-01T01:00:00-05:00', true],
        ['Chicago fall, 01:30 CDT', sun(CHICAGO, '01:00-02:00'), '2026-11-01T01:30:00-05:00', true],
        ['Chicago fall, 01:00 CST (again)', sun(CHICAGO, '01:00-02:00'), '2026-11-01T01:00:00-06:00', true],
        ['Chicago fall, 01:30 CST', sun(CHICAGO, '01:00-02:00'), '2026-11-01T01:30:00-06:00', true],
        ['Chicago fall, 01:59:59 CST', sun(CHICAGO, '01:00-02:00'), '2026-11-01T01:59:59-06:00', true],
        ['Chicago fall, 02:00 CST', sun(CHICAGO, '01:00-02:00'), '2026-11-01T02:00:00-06:00', false],
        ['Chicago fall, 02:59 CST inside 01:00-03:00', sun(CHICAGO, '01:00-03:00'), '2026-11-01T02:59:00-06:00', true],
        ['Chicago fall, 03:00 CST end of 01:00-03:00', sun(CHICAGO, '01:00-03:00'), '2026-11-01T03:00:00-06:00', false],
        ['Chicago fall, 01:30 CDT outside 01:45-03:00', sun(CHICAGO, '01:45-03:00'), '2026-11-01T01:30:00-05:00', false],
        ['Chicago fall, 01:50 CDT inside 01:45-03:00', sun(CHICAGO, '01:45-03:00'), '2026-11-01T01:50:00-05:00', true],
        ['Chicago fall, 01:30 CST outside 01:45-03:00 again', sun(CHICAGO, '01:45-03:00'), '2026-11-01T01:30:00-06:00', false],
        // Europe/Berlin, spring forward 2026-03-29: 02:00 CET → 03:00 CEST
        ['Berlin spring, 00:59 CET', sun(BERLIN, '01:00-03:00'), '2026-03-29T00:59:00+01:00', false],
        ['Berlin spring, 01:00 CET', sun(BERLIN, '01:00-03:00'), '2026-03-29T01:00:00+01:00', true],
        ['Berlin spring, 01:59:59 CET', sun(BERLIN, '01:00-03:00'), '2026-03-29T01:59:59+01:00', true],
        ['Berlin spring, 03:00 CEST', sun(BERLIN, '01:00-03:00'), '2026-03-29T03:00:00+02:00', false],
        ['Berlin spring, 03:00 CEST inside 02:30-05:00', sun(BERLIN, '02:30-05:00'), '2026-03-29T03:00:00+02:00', true],
        ['Berlin spring, 01:59 CET before 02:30-05:00', sun(BERLIN, '02:30-05:00'), '2026-03-29T01:59:59+01:00', false],
        // Europe/Berlin, fall back 2026-10-25: 03:00 CEST → 02:00 CET
        ['Berlin fall, 01:59 CEST', sun(BERLIN, '02:00-03:00'), '2026-10-25T01:59:00+02:00', false],
        ['Berlin fall, 02:00 CEST', sun(BERLIN, '02:00-03:00'), '2026-10-25T02:00:00+02:00', true],
        ['Berlin fall, 02:30 CEST', sun(BERLIN, '02:00-03:00'), '2026-10-25T02:30:00+02:00', true],
        ['Berlin fall, 02:00 CET (again)', sun(BERLIN, '02:00-03:00'), '2026-10-25T02:00:00+01:00', true],
        ['Berlin fall, 02:30 CET', sun(BERLIN, '02:00-03:00'), '2026-10-25T02:30:00+01:00', true],
        ['Berlin fall, 02:59:59 CET', sun(BERLIN, '02:00-03:00'), '2026-10-25T02:59:59+01:00', true],
        ['Berlin fall, 03:00 CET', sun(BERLIN, '02:00-03:00'), '2026-10-25T03:00:00+01:00', false],
        ['Berlin fall, 23:59 Sun still Sunday', sun(BERLIN, '23:00-24:00'), '2026-10-25T23:59:00+01:00', true],
        ['Berlin fall, 00:00 Mon', sun(BERLIN, '23:00-24:00'), '2026-10-26T00:00:00+01:00', false],
      ];
      for (const [name, schedule, iso, open] of dst) {
        it(`${name}: ${iso} → ${open ? 'open' : 'closed'}`, () => expect(isOpenAt(schedule, t(iso))).to.equal(open));
      }

      it('fall-back 01:00-02:00 in Chicago is open for two real hours', () => {
        const s = sun(CHICAGO, '01:00-02:00');
        let openMinutes = 0;
        for (let ms = t('2026-11-01T00:00:00-05:00'); ms < t('2026-11-01T04:00:00-06:00'); ms += 60_000) {
          if (isOpenAt(s, ms)) openMinutes++;
        }
        expect(openMinutes).to.equal(120);
      });

      it('spring-forward 01:00-03:00 in Berlin is open for one real hour', () => {
        const s = sun(BERLIN, '01:00-03:00');
        let openMinutes = 0;
        for (let ms = t('2026-03-29T00:00:00+01:00'); ms < t('2026-03-29T05:00:00+02:00'); ms += 60_000) {
          if (isOpenAt(s, ms)) openMinutes++;
        }
        expect(openMinutes).to.equal(60);
      });
    });

    describe('closures', () => {
      const s = office(CHICAGO, '2026-12-25', '2026-12-31 12:00-23:59');
      const always: Schedule = { timezone: CHICAGO, closed: closures('2026-12-25', '2026-07-04 13:00-17:00') };
      const cases2: Case[] = [
        ['the day before a whole-day closure', s, '2026-12-24T10:00:00-06:00', true],
        ['a whole-day closure on a weekday', s, '2026-12-25T10:00:00-06:00', false],
        ['the day after (Saturday hours)', s, '2026-12-26T10:00:00-06:00', true],
        ['a partial closure day, before it', s, '2026-12-31T11:59:00-06:00', true],
        ['a partial closure day, at its start', s, '2026-12-31T12:00:00-06:00', false],
        ['a partial closure day, during normal hours', s, '2026-12-31T15:00:00-06:00', false],
        ['the next day', s, '2027-01-01T10:00:00-06:00', true],
        ['always open, closure by local date (UTC already the 25th)', always, '2026-12-24T20:00:00-06:00', true],
        ['always open, closure start at local midnight', always, '2026-12-25T00:00:00-06:00', false],
        ['always open, closure end of day (UTC already the 26th)', always, '2026-12-25T23:59:59-06:00', false],
        ['always open, after the closure', always, '2026-12-26T00:00:00-06:00', true],
        ['always open, partial closure just before', always, '2026-07-04T12:59:59-05:00', true],
        ['always open, partial closure start', always, '2026-07-04T13:00:00-05:00', false],
        ['always open, partial closure last minute', always, '2026-07-04T16:59:59-05:00', false],
        ['always open, partial closure end', always, '2026-07-04T17:00:00-05:00', true],
      ];
      for (const [name, schedule, iso, open] of cases2) {
        it(`${name}: ${iso} → ${open ? 'open' : 'closed'}`, () => expect(isOpenAt(schedule, t(iso))).to.equal(open));
      }
    });

    it('throws on an unknown time zone rather than guessing', () => {
      expect(() => isOpenAt({ timezone: 'Mars/Olympus_Mons', closed: [] }, 0)).to.throw(/Mars\/Olympus_Mons/);
    });
  });

  describe('hoursToday', () => {
    const cases: [string, Schedule, string, string][] = [
      ['a weekday', office(CHICAGO), '2026-06-03T10:00:00-05:00', '8:00 AM–12:00 PM, 1:00 PM–5:30 PM'],
      ['a weekday, asked after closing', office(CHICAGO), '2026-06-03T23:59:00-05:00', '8:00 AM–12:00 PM, 1:00 PM–5:30 PM'],
      ['Saturday', office(CHICAGO), '2026-06-06T10:00:00-05:00', '9:00 AM–12:00 PM'],
      ['Sunday (not named)', office(CHICAGO), '2026-06-07T10:00:00-05:00', 'closed'],
      ['no hours at all', { timezone: CHICAGO, closed: [] }, '2026-06-07T10:00:00-05:00', 'open 24 hours'],
      ['00:00-24:00', { timezone: TOKYO, hours: hours({ 'mon-sun': '00:00-24:00' }), closed: [] }, '2026-06-03T10:00:00+09:00', 'open 24 hours'],
      ['two halves that touch', { timezone: TOKYO, hours: hours({ wed: '00:00-12:00,12:00-24:00' }), closed: [] }, '2026-06-03T10:00:00+09:00', 'open 24 hours'],
      ['touching ranges are said as one', { timezone: TOKYO, hours: hours({ wed: '09:00-12:00,12:00-13:30' }), closed: [] }, '2026-06-03T10:00:00+09:00', '9:00 AM–1:30 PM'],
      ['an evening to midnight', { timezone: TOKYO, hours: hours({ wed: '18:00-24:00' }), closed: [] }, '2026-06-03T10:00:00+09:00', '6:00 PM–12:00 AM'],
      ['a whole-day closure', office(CHICAGO, '2026-12-25'), '2026-12-25T10:00:00-06:00', 'closed'],
      ['a partial closure trims the afternoon', office(CHICAGO, '2026-12-31 12:00-23:59'), '2026-12-31T09:00:00-06:00', '8:00 AM–12:00 PM'],
      ['a partial closure cuts through both ranges', office(CHICAGO, '2026-06-03 10:00-14:00'), '2026-06-03T09:00:00-05:00', '8:00 AM–10:00 AM, 2:00 PM–5:30 PM'],
      ['a partial closure covering all the hours', office(CHICAGO, '2026-06-06 08:00-13:00'), '2026-06-06T09:00:00-05:00', 'closed'],
      ['a partial closure on another date does nothing', office(CHICAGO, '2026-06-04 10:00-14:00'), '2026-06-03T09:00:00-05:00', '8:00 AM–12:00 PM, 1:00 PM–5:30 PM'],
      ['always open less a partial closure', { timezone: CHICAGO, closed: closures('2026-12-31 12:00-23:59') }, '2026-12-31T09:00:00-06:00', '12:00 AM–12:00 PM, 11:59 PM–12:00 AM'],
      ['the local date decides: Wed evening in Chicago', { timezone: CHICAGO, hours: hours({ wed: '09:00-10:00', thu: '11:00-12:00' }), closed: [] }, '2026-06-03T23:00:00Z', '9:00 AM–10:00 AM'],
      ['the local date decides: Thu morning in Tokyo', { timezone: TOKYO, hours: hours({ wed: '09:00-10:00', thu: '11:00-12:00' }), closed: [] }, '2026-06-03T23:00:00Z', '11:00 AM–12:00 PM'],
      ['a fall-back day by the wall clock', { timezone: CHICAGO, hours: hours({ sun: '01:00-02:00' }), closed: [] }, '2026-11-01T01:30:00-06:00', '1:00 AM–2:00 AM'],
      ['a spring-forward day by the wall clock', { timezone: BERLIN, hours: hours({ sun: '01:00-03:00' }), closed: [] }, '2026-03-29T12:00:00+02:00', '1:00 AM–3:00 AM'],
    ];
    for (const [name, schedule, iso, said] of cases) {
      it(`${name} → ${JSON.stringify(said)}`, () => expect(hoursToday(schedule, t(iso))).to.equal(said));
    }
  });

  describe('nextOpen', () => {
    type Case = [string, Schedule, string, { at: string; label: string } | undefined];
    const mondays = (timezone: string, ...closed: string[]): Schedule => ({ timezone, hours: hours({ mon: '08:00-12:00' }), closed: closures(...closed) });
    const sun = (timezone: string, value: string, more: Record<string, string> = {}): Schedule => ({
      timezone,
      hours: hours({ sun: value, ...more }),
      closed: [],
    });
    const cases: Case[] = [
      ['open now → now', office(CHICAGO), '2026-06-03T10:00:00-05:00', { at: '2026-06-03T10:00:00-05:00', label: 'now' }],
      ['open now, at the opening instant', office(CHICAGO), '2026-06-03T08:00:00-05:00', { at: '2026-06-03T08:00:00-05:00', label: 'now' }],
      ['always open → now', { timezone: TOKYO, closed: [] }, '2026-06-03T03:00:00+09:00', { at: '2026-06-03T03:00:00+09:00', label: 'now' }],
      ['before opening', office(CHICAGO), '2026-06-03T07:00:00-05:00', { at: '2026-06-03T08:00:00-05:00', label: 'today 8:00 AM' }],
      ['one second before opening', office(CHICAGO), '2026-06-03T07:59:59-05:00', { at: '2026-06-03T08:00:00-05:00', label: 'today 8:00 AM' }],
      ['at lunch', office(CHICAGO), '2026-06-03T12:00:00-05:00', { at: '2026-06-03T13:00:00-05:00', label: 'today 1:00 PM' }],
      ['at closing', office(CHICAGO), '2026-06-03T17:30:00-05:00', { at: '2026-06-04T08:00:00-05:00', label: 'tomorrow 8:00 AM' }],
      ['Friday evening → Saturday', office(CHICAGO), '2026-06-05T18:00:00-05:00', { at: '2026-06-06T09:00:00-05:00', label: 'tomorrow 9:00 AM' }],
      ['Saturday afternoon → Monday', office(CHICAGO), '2026-06-06T12:30:00-05:00', { at: '2026-06-08T08:00:00-05:00', label: 'Monday 8:00 AM' }],
      ['Sunday → Monday', office(CHICAGO), '2026-06-07T10:00:00-05:00', { at: '2026-06-08T08:00:00-05:00', label: 'tomorrow 8:00 AM' }],
      ['Sunday just before midnight → Monday', office(CHICAGO), '2026-06-07T23:59:59-05:00', { at: '2026-06-08T08:00:00-05:00', label: 'tomorrow 8:00 AM' }],
      ['Sunday → Monday in Tokyo', office(TOKYO), '2026-06-07T10:00:00+09:00', { at: '2026-06-08T08:00:00+09:00', label: 'tomorrow 8:00 AM' }],
      ['Sunday → Monday in Berlin', office(BERLIN), '2026-06-07T10:00:00+02:00', { at: '2026-06-08T08:00:00+02:00', label: 'tomorrow 8:00 AM' }],
      ['Tokyo Friday evening', office(TOKYO), '2026-06-05T18:00:00+09:00', { at: '2026-06-06T09:00:00+09:00', label: 'tomorrow 9:00 AM' }],
      ['the local date decides the label (UTC is a day ahead)', office(CHICAGO), '2026-06-03T20:00:00-05:00', { at: '2026-06-04T08:00:00-05:00', label: 'tomorrow 8:00 AM' }],
      ['Tuesday → next Monday, six days away', mondays(CHICAGO), '2026-06-02T10:00:00-05:00', { at: '2026-06-08T08:00:00-05:00', label: 'Monday 8:00 AM' }],
      ['exactly a week away gets the date', mondays(CHICAGO), '2026-06-01T13:00:00-05:00', { at: '2026-06-08T08:00:00-05:00', label: 'Monday, Jun 8 8:00 AM' }],
      ['two weeks away (within 14 days)', mondays(CHICAGO, '2026-06-08'), '2026-06-01T13:00:00-05:00', { at: '2026-06-15T08:00:00-05:00', label: 'Monday, Jun 15 8:00 AM' }],
      ['three weeks away is past the search', mondays(CHICAGO, '2026-06-08', '2026-06-15'), '2026-06-01T13:00:00-05:00', undefined],
      ['never open', { timezone: CHICAGO, hours: hours({ 'mon-sun': 'closed' }), closed: [] }, '2026-06-01T13:00:00-05:00', undefined],
      // closures
      ['a whole-day closure is skipped', office(CHICAGO, '2026-12-25'), '2026-12-24T18:00:00-06:00', { at: '2026-12-26T09:00:00-06:00', label: 'Saturday 9:00 AM' }],
      ['during a whole-day closure', office(CHICAGO, '2026-12-25'), '2026-12-25T09:00:00-06:00', { at: '2026-12-26T09:00:00-06:00', label: 'tomorrow 9:00 AM' }],
      ['a closed week → date label', office(CHICAGO, '2026-12-21', '2026-12-22', '2026-12-23', '2026-12-24', '2026-12-25', '2026-12-26'), '2026-12-20T10:00:00-06:00', { at: '2026-12-28T08:00:00-06:00', label: 'Monday, Dec 28 8:00 AM' }],
      ['a partial closure to the end of the day', office(CHICAGO, '2026-12-31 12:00-23:59'), '2026-12-31T12:30:00-06:00', { at: '2027-01-01T08:00:00-06:00', label: 'tomorrow 8:00 AM' }],
      ['a partial closure reopens when it ends', office(CHICAGO, '2026-06-03 08:00-10:00'), '2026-06-03T07:00:00-05:00', { at: '2026-06-03T10:00:00-05:00', label: 'today 10:00 AM' }],
      ['a partial closure over the lunch break', office(CHICAGO, '2026-06-03 11:00-14:15'), '2026-06-03T11:30:00-05:00', { at: '2026-06-03T14:15:00-05:00', label: 'today 2:15 PM' }],
      ['always open, whole-day closure → midnight', { timezone: CHICAGO, closed: closures('2026-12-25') }, '2026-12-25T10:00:00-06:00', { at: '2026-12-26T00:00:00-06:00', label: 'tomorrow 12:00 AM' }],
      ['open across midnight: still open after it', { timezone: CHICAGO, hours: hours({ mon: '22:00-24:00', tue: '00:00-02:00' }), closed: [] }, '2026-06-02T01:00:00-05:00', { at: '2026-06-02T01:00:00-05:00', label: 'now' }],
      // daylight saving
      ['Chicago spring: an opening in the gap opens at the first minute after', sun(CHICAGO, '02:30-05:00'), '2026-03-08T01:00:00-06:00', { at: '2026-03-08T03:00:00-05:00', label: 'today 3:00 AM' }],
      ['Chicago spring: an opening after the gap', sun(CHICAGO, '04:00-05:00'), '2026-03-08T01:00:00-06:00', { at: '2026-03-08T04:00:00-05:00', label: 'today 4:00 AM' }],
      ['Chicago spring: hours entirely in the gap never happen', sun(CHICAGO, '02:00-03:00', { mon: '08:00-17:00' }), '2026-03-08T00:00:00-06:00', { at: '2026-03-09T08:00:00-05:00', label: 'tomorrow 8:00 AM' }],
      ['Chicago spring: across the short night', office(CHICAGO), '2026-03-07T18:00:00-06:00', { at: '2026-03-09T08:00:00-05:00', label: 'Monday 8:00 AM' }],
      ['Chicago fall: a range that repeats after the clock goes back', sun(CHICAGO, '01:00-01:30'), '2026-11-01T01:40:00-05:00', { at: '2026-11-01T01:00:00-06:00', label: 'today 1:00 AM' }],
      ['Chicago fall: the clock going back lands inside a range', sun(CHICAGO, '00:30-01:30'), '2026-11-01T01:40:00-05:00', { at: '2026-11-01T01:00:00-06:00', label: 'today 1:00 AM' }],
      ['Chicago fall: a start in the repeated hour, asked in its second pass', sun(CHICAGO, '01:45-03:00'), '2026-11-01T01:30:00-06:00', { at: '2026-11-01T01:45:00-06:00', label: 'today 1:45 AM' }],
      ['Chicago fall: a start in the repeated hour, asked before', sun(CHICAGO, '01:45-03:00'), '2026-11-01T00:30:00-05:00', { at: '2026-11-01T01:45:00-05:00', label: 'today 1:45 AM' }],
      ['Chicago fall: across the long night', sun(CHICAGO, '09:00-10:00'), '2026-10-31T20:00:00-05:00', { at: '2026-11-01T09:00:00-06:00', label: 'tomorrow 9:00 AM' }],
      ['Berlin spring: an opening in the gap', sun(BERLIN, '02:30-05:00'), '2026-03-29T00:00:00+01:00', { at: '2026-03-29T03:00:00+02:00', label: 'today 3:00 AM' }],
      ['Berlin spring: across the short night', mondays(BERLIN), '2026-03-28T12:00:00+01:00', { at: '2026-03-30T08:00:00+02:00', label: 'Monday 8:00 AM' }],
      ['Berlin fall: a range that repeats after the clock goes back', sun(BERLIN, '02:00-02:30'), '2026-10-25T02:45:00+02:00', { at: '2026-10-25T02:00:00+01:00', label: 'today 2:00 AM' }],
      ['Berlin fall: across the long night', sun(BERLIN, '09:00-10:00'), '2026-10-24T20:00:00+02:00', { at: '2026-10-25T09:00:00+01:00', label: 'tomorrow 9:00 AM' }],
    ];
    for (const [name, schedule, iso, expected] of cases) {
      it(`${name}: ${iso}`, () => {
        const got = nextOpen(schedule, t(iso));
        expect(got).to.deep.equal(expected === undefined ? undefined : { at: t(expected.at), label: expected.label });
      });
    }

    // The first instant after a closed one at which isOpenAt is true, found the slow way: every
    // whole minute (offsets are whole minutes, so every change happens on one).
    function bruteForce(schedule: Schedule, from: number, maxMinutes: number): number | undefined {
      if (isOpenAt(schedule, from)) return from;
      for (let ms = Math.floor(from / 60_000) * 60_000 + 60_000, i = 0; i < maxMinutes; ms += 60_000, i++) {
        if (isOpenAt(schedule, ms)) return ms;
      }
      return undefined;
    }

    const agreeing: [string, Schedule, string[]][] = [
      ['Chicago, DST days', { timezone: CHICAGO, hours: hours({ sun: '00:30-01:30,02:15-02:45,03:00-04:00', sat: '23:00-24:00' }), closed: [] },
        ['2026-03-07T22:00:00-06:00', '2026-03-08T01:10:00-06:00', '2026-03-08T02:20:00-05:00', '2026-10-31T22:00:00-05:00', '2026-11-01T01:10:00-05:00', '2026-11-01T01:40:00-05:00', '2026-11-01T01:10:00-06:00', '2026-11-01T01:40:00-06:00']],
      ['Berlin, DST days', { timezone: BERLIN, hours: hours({ sun: '01:30-02:10,02:40-03:20', 'mon-sat': '07:00-07:30' }), closed: closures('2026-03-30 07:00-07:10') },
        ['2026-03-28T22:00:00+01:00', '2026-03-29T01:45:00+01:00', '2026-03-29T03:00:00+02:00', '2026-10-25T02:20:00+02:00', '2026-10-25T02:20:00+01:00', '2026-10-25T02:50:00+01:00']],
      ['Tokyo, office hours', office(TOKYO, '2026-06-04 08:00-08:30'), ['2026-06-03T12:30:15+09:00', '2026-06-03T17:45:00+09:00', '2026-06-06T12:00:00+09:00']],
    ];
    for (const [name, schedule, froms] of agreeing) {
      it(`agrees with a minute-by-minute search: ${name}`, () => {
        for (const from of froms) {
          const expected = bruteForce(schedule, t(from), 3 * 1440);
          expect(nextOpen(schedule, t(from))?.at, from).to.equal(expected);
        }
      });
    }
  });

  describe('localTime', () => {
    const cases: [string, string, string][] = [
      [CHICAGO, '2026-06-03T14:05:00-05:00', '2:05 PM'],
      [CHICAGO, '2026-06-03T14:05:59.999-05:00', '2:05 PM'],
      [CHICAGO, '2026-06-03T00:00:00-05:00', '12:00 AM'],
      [CHICAGO, '2026-06-03T12:00:00-05:00', '12:00 PM'],
      [CHICAGO, '2026-06-03T23:59:00-05:00', '11:59 PM'],
      [CHICAGO, '2026-11-01T01:30:00-05:00', '1:30 AM'],
      [CHICAGO, '2026-11-01T01:30:00-06:00', '1:30 AM'],
      [CHICAGO, '2026-03-08T08:00:00Z', '3:00 AM'],
      [BERLIN, '2026-06-03T12:05:00Z', '2:05 PM'],
      [BERLIN, '2026-10-25T00:30:00Z', '2:30 AM'],
      [BERLIN, '2026-10-25T01:30:00Z', '2:30 AM'],
      [TOKYO, '2026-06-03T05:05:00Z', '2:05 PM'],
      [TOKYO, '2026-06-03T15:00:00Z', '12:00 AM'],
    ];
    for (const [zone, iso, said] of cases) {
      it(`${zone} ${iso} → ${said}`, () => expect(localTime(zone, t(iso))).to.equal(said));
    }
    it('throws on an unknown time zone', () => expect(() => localTime('Nowhere/Land', 0)).to.throw(/Nowhere\/Land/));
  });
});
