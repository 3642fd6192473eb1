import { expect } from 'chai';
import {
  countSegments,
  decodeGsm7,
  decodeLatin1,
  decodeUcs2,
  encodeGsm7,
  encodeUcs2,
  isGsm7,
  parseConcatUdh,
  segmentText,
} from '../../src/messages/encoding';

const hex = (b: Buffer): string => b.toString('hex');

describe('messages/encoding', () => {
  describe('GSM 03.38 tables', () => {
    const basic: [string, number][] = [
      ['@', 0x00], ['£', 0x01], ['$', 0x02], ['¥', 0x03], ['è', 0x04], ['é', 0x05], ['ù', 0x06], ['ì', 0x07],
      ['ò', 0x08], ['Ç', 0x09], ['\n', 0x0a], ['Ø', 0x0b], ['ø', 0x0c], ['\r', 0x0d], ['Å', 0x0e], ['å', 0x0f],
      ['Δ', 0x10], ['_', 0x11], ['Φ', 0x12], ['Γ', 0x13], ['Λ', 0x14], ['Ω', 0x15], ['Π', 0x16], ['Ψ', 0x17],
      ['Σ', 0x18], ['Θ', 0x19], ['Ξ', 0x1a], ['Æ', 0x1c], ['æ', 0x1d], ['ß', 0x1e], ['É', 0x1f], [' ', 0x20],
      ['!', 0x21], ['"', 0x22], ['#', 0x23], ['¤', 0x24], ['%', 0x25], ['&', 0x26], ["'", 0x27], ['/', 0x2f],
      ['0', 0x30], ['9', 0x39], ['?', 0x3f], ['¡', 0x40], ['A', 0x41], ['Z', 0x5a], ['Ä', 0x5b], ['Ö', 0x5c],
      ['Ñ', 0x5d], ['Ü', 0x5e], ['§', 0x5f], ['¿', 0x60], ['a', 0x61], ['z', 0x7a], ['ä', 0x7b], ['ö', 0x7c],
      ['ñ', 0x7d], ['ü', 0x7e], ['à', 0x7f],
    ];
    for (const [ch, code] of basic) {
      it(`encodes ${JSON.stringify(ch)} as 0x${code.toString(16)} and back`, () => {
        expect([...encodeGsm7(ch)]).to.deep.equal([code]);
        expect(decodeGsm7(Buffer.from([code]))).to.equal(ch);
      });
    }

    const extension: [string, number][] = [
      ['\f', 0x0a], ['^', 0x14], ['{', 0x28], ['}', 0x29], ['\\', 0x2f], ['[', 0x3c], ['~', 0x3d], [']', 0x3e],
      ['|', 0x40], ['€', 0x65],
    ];
    for (const [ch, code] of extension) {
      it(`encodes extension ${JSON.stringify(ch)} as 1B ${code.toString(16)}`, () => {
        expect([...encodeGsm7(ch)]).to.deep.equal([0x1b, code]);
        expect(decodeGsm7(Buffer.from([0x1b, code]))).to.equal(ch);
      });
    }

    it('maps every septet except the escape to a distinct character', () => {
      const codes = Array.from({ length: 128 }, (_, i) => i).filter((i) => i !== 0x1b);
      const chars = codes.map((c) => decodeGsm7(Buffer.from([c])));
      expect(new Set(chars).size).to.equal(127);
      expect(chars.every((ch) => ch.length === 1)).to.equal(true);
      expect([...encodeGsm7(chars.join(''))]).to.deep.equal(codes);
    });
  });

  describe('isGsm7', () => {
    it('accepts basic and extension characters', () => {
      expect(isGsm7('Hello {world} [€5] ~^|\\ @£$¥')).to.equal(true);
      expect(isGsm7('')).to.equal(true);
    });
    it('rejects characters outside the alphabet', () => {
      for (const s of ['ç', 'á', '`', '’', '😀', 'Ж', '\t', '\x1b']) expect(isGsm7(s), JSON.stringify(s)).to.equal(false);
    });
  });

  describe('GSM-7 round trip and decoding', () => {
    it('round-trips a mixed text', () => {
      const text = 'Sorry we missed you! Call {back} at [9-5] ~ 50€ @ Café Ñoño\r\n§¿¡';
      expect(decodeGsm7(encodeGsm7(text))).to.equal(text);
    });
    it('throws RangeError when encoding a non-GSM character', () => {
      expect(() => encodeGsm7('a😀')).to.throw(RangeError, /offset 1/);
    });
    it('decodes bad input best-effort without throwing', () => {
      expect(decodeGsm7(Buffer.from([0x41, 0x80, 0xff]))).to.equal('A??');
      expect(decodeGsm7(Buffer.from([0x41, 0x1b]))).to.equal('A'); // dangling escape
      expect(decodeGsm7(Buffer.from([0x1b, 0x41]))).to.equal('A'); // unknown extension → basic char
      expect(decodeGsm7(Buffer.from([0x1b, 0x1b, 0x41]))).to.equal(' A');
      expect(decodeGsm7(Buffer.alloc(0))).to.equal('');
    });
  });

  describe('UCS-2', () => {
    it('encodes UTF-16BE with surrogate pairs for emoji', () => {
      expect(hex(encodeUcs2('Aé😀'))).to.equal('004100e9d83dde00');
    });
    it('round-trips text with emoji and non-Latin scripts', () => {
      const text = 'Привет 👋🏽 你好 — ça va? 🇺🇸';
      expect(decodeUcs2(encodeUcs2(text))).to.equal(text);
    });
    it('ignores an odd trailing byte and leaves the input untouched', () => {
      const buf = Buffer.from([0x00, 0x41, 0x00, 0x42, 0x00]);
      expect(decodeUcs2(buf)).to.equal('AB');
      expect(hex(buf)).to.equal('0041004200');
      expect(decodeUcs2(Buffer.alloc(0))).to.equal('');
    });
    it('decodes Latin-1', () => {
      expect(decodeLatin1(Buffer.from([0x63, 0x61, 0x66, 0xe9]))).to.equal('café');
    });
  });

  describe('segmentText', () => {
    it('sends 160 GSM septets as one part without UDH, data_coding 0', () => {
      const s = segmentText('a'.repeat(160), 7);
      expect(s).to.include({ encoding: 'GSM-7', dataCoding: 0, units: 160, segments: 1, udh: false });
      expect(s.parts).to.have.length(1);
      expect(s.parts[0]!.equals(Buffer.alloc(160, 0x61))).to.equal(true);
    });

    it('splits 161 septets into 153 + 8 with concatenation UDH', () => {
      const s = segmentText('a'.repeat(161), 0x1ab);
      expect(s).to.include({ encoding: 'GSM-7', dataCoding: 0, units: 161, segments: 2, udh: true });
      expect(hex(s.parts[0]!.subarray(0, 6))).to.equal('050003ab0201');
      expect(hex(s.parts[1]!.subarray(0, 6))).to.equal('050003ab0202');
      expect(s.parts.map((p) => p.length - 6)).to.deep.equal([153, 8]);
    });

    it('counts extension characters as two septets', () => {
      expect(countSegments('€'.repeat(80))).to.deep.equal({ encoding: 'GSM-7', units: 160, segments: 1 });
      expect(countSegments('a' + '€'.repeat(80))).to.deep.equal({ encoding: 'GSM-7', units: 161, segments: 2 });
      expect(segmentText('{}', 0).parts[0]!.equals(Buffer.from([0x1b, 0x28, 0x1b, 0x29]))).to.equal(true);
    });

    it('does not split an escape pair across parts', () => {
      // 152 plain septets then '€': the pair would straddle septets 153/154.
      const text = 'a'.repeat(152) + '€' + 'b'.repeat(10);
      const s = segmentText(text, 1);
      expect(s.units).to.equal(164);
      const bodies = s.parts.map((p) => p.subarray(6));
      expect(bodies[0]!.length).to.equal(152);
      expect(bodies[0]![151]).to.equal(0x61);
      expect([...bodies[1]!.subarray(0, 2)]).to.deep.equal([0x1b, 0x65]);
      expect(bodies.map((b) => decodeGsm7(b)).join('')).to.equal(text);
    });

    it('sends 70 UCS-2 units as one part, data_coding 8', () => {
      const s = segmentText('ж'.repeat(70), 0);
      expect(s).to.include({ encoding: 'UCS-2', dataCoding: 8, units: 70, segments: 1, udh: false });
      expect(s.parts[0]!.length).to.equal(140);
    });

    it('splits 71 UCS-2 units into 67 + 4', () => {
      const s = segmentText('ж'.repeat(71), 3);
      expect(s).to.include({ encoding: 'UCS-2', dataCoding: 8, units: 71, segments: 2, udh: true });
      expect(s.parts.map((p) => (p.length - 6) / 2)).to.deep.equal([67, 4]);
      expect(hex(s.parts[1]!.subarray(0, 6))).to.equal('050003030202');
    });

    it('switches the whole text to UCS-2 for one non-GSM character', () => {
      const s = segmentText('a'.repeat(100) + 'ç', 0);
      expect(s.encoding).to.equal('UCS-2');
      expect(s.units).to.equal(101);
      expect(s.segments).to.equal(2);
    });

    it('does not split a surrogate pair across parts', () => {
      const text = 'ж'.repeat(66) + '😀' + 'ж'.repeat(5);
      const s = segmentText(text, 9);
      expect(s.units).to.equal(73);
      const bodies = s.parts.map((p) => p.subarray(6));
      expect(bodies[0]!.length).to.equal(66 * 2);
      expect(hex(bodies[1]!.subarray(0, 4))).to.equal('d83dde00');
      expect(bodies.map((b) => decodeUcs2(b)).join('')).to.equal(text);
    });

    it('round-trips a long GSM text through its parts', () => {
      const text = 'Sorry we missed your call! '.repeat(20);
      const s = segmentText(text, 200);
      expect(s.segments).to.equal(Math.ceil(text.length / 153));
      s.parts.forEach((p, i) => {
        const info = parseConcatUdh(p)!;
        expect(info).to.include({ ref: 200, total: s.segments, seq: i + 1 });
      });
      expect(s.parts.map((p) => decodeGsm7(parseConcatUdh(p)!.body)).join('')).to.equal(text);
    });

    it('treats an empty text as one empty GSM-7 part', () => {
      const s = segmentText('', 0);
      expect(s).to.include({ encoding: 'GSM-7', units: 0, segments: 1, udh: false });
      expect(s.parts[0]!.length).to.equal(0);
    });

    it('accepts 255 parts and rejects 256 with RangeError', () => {
      expect(segmentText('a'.repeat(153 * 255), 0).segments).to.equal(255);
      expect(() => segmentText('a'.repeat(153 * 255 + 1), 0)).to.throw(RangeError);
      expect(countSegments('a'.repeat(153 * 255 + 1)).segments).to.equal(256);
    });

    it('agrees with countSegments', () => {
      for (const text of ['hi', 'a'.repeat(152) + '€'.repeat(3), 'ж'.repeat(66) + '😀'.repeat(3), '€'.repeat(77) + 'x'.repeat(2)]) {
        const s = segmentText(text, 0);
        expect(countSegments(text)).to.deep.equal({ encoding: s.encoding, units: s.units, segments: s.segments });
      }
    });
  });

  describe('parseConcatUdh', () => {
    it('reads the 8-bit reference IE (0x00)', () => {
      const payload = Buffer.from('050003c60302' + '4142', 'hex');
      const info = parseConcatUdh(payload)!;
      expect(info).to.include({ ref: 0xc6, total: 3, seq: 2 });
      expect(hex(info.body)).to.equal('4142');
    });

    it('reads the 16-bit reference IE (0x08)', () => {
      const info = parseConcatUdh(Buffer.from('0608041234020141', 'hex'))!;
      expect(info).to.include({ ref: 0x1234, total: 2, seq: 1 });
      expect(hex(info.body)).to.equal('41');
    });

    it('skips other IEs before and after the concatenation IE', () => {
      // IE 0x24 (national language shift, len 1), concat 8-bit, IE 0x70 with 2 bytes
      const info = parseConcatUdh(Buffer.from('0c' + '240101' + '00030a0201' + '7002ffff' + '0048', 'hex'))!;
      expect(info).to.include({ ref: 10, total: 2, seq: 1 });
      expect(hex(info.body)).to.equal('0048');
    });

    it('returns undefined for a UDH without concatenation or a malformed one', () => {
      expect(parseConcatUdh(Buffer.from('0324010141', 'hex'))).to.equal(undefined);
      expect(parseConcatUdh(Buffer.from('0500030a', 'hex'))).to.equal(undefined); // UDHL past the end
      expect(parseConcatUdh(Buffer.from('040003aa02', 'hex'))).to.equal(undefined); // IE overruns UDH
      expect(parseConcatUdh(Buffer.from('0500030a0203', 'hex'))).to.equal(undefined); // seq > total
      expect(parseConcatUdh(Buffer.from('0500030a0200', 'hex'))).to.equal(undefined); // seq 0
      expect(parseConcatUdh(Buffer.alloc(0))).to.equal(undefined);
    });
  });
});
