// SMS PDUs: published examples, PDUs built by the modem simulator's own (independent, Python)
// encoder, and our encoder round-tripping through our decoder.

import { expect } from 'chai';
import {
  decodePdu,
  decodeTimestamp,
  dcsEncoding,
  encodeAddress,
  encodeSmsc,
  encodeSubmit,
  packSeptets,
  PduError,
  relativeValidity,
  statusOf,
  unpackSeptets,
  validityMinutes,
  type DeliverPdu,
  type StatusReportPdu,
  type SubmitPdu,
} from '../../src/sms/modem/pdu';
import { encodeGsm7 } from '../../src/messages/encoding';

function asSubmit(hex: string): SubmitPdu {
  const d = decodePdu(hex);
  expect(d.type).to.equal('submit');
  return d as SubmitPdu;
}

/** Joins parts by UDH sequence number. */
function joined(parts: { text: string; part?: { seq: number } }[]): string {
  return [...parts].sort((a, b) => (a.part?.seq ?? 0) - (b.part?.seq ?? 0)).map((p) => p.text).join('');
}

describe('SMS PDUs', () => {
  describe('septet packing', () => {
    it('packs "hellohello" into the published octets and back', () => {
      const packed = packSeptets(encodeGsm7('hellohello'));
      expect(packed.toString('hex').toUpperCase()).to.equal('E8329BFD4697D9EC37');
      expect(unpackSeptets(packed, 10).equals(encodeGsm7('hellohello'))).to.equal(true);
    });

    it('puts fill bits before the first septet', () => {
      // "A" is septet 0x41: one fill bit shifts it to 0x82.
      expect(packSeptets(Buffer.from([0x41]), 1).toString('hex')).to.equal('82');
      // Eight "A"s after one fill bit: 57 bits in 8 octets (computed by the simulator's pack7).
      const packed = packSeptets(Buffer.alloc(8, 0x41), 1);
      expect(packed.toString('hex').toUpperCase()).to.equal('82C16030180C0601');
      expect([...unpackSeptets(packed, 8, 1)]).to.deep.equal(Array(8).fill(0x41));
    });

    it('refuses to unpack more septets than the octets hold', () => {
      expect(() => unpackSeptets(Buffer.from([0xe8, 0x32]), 3)).to.throw(PduError);
    });
  });

  describe('addresses and validity', () => {
    it('writes international and national numbers in swapped semi-octets', () => {
      expect(encodeAddress('+46708251358').toString('hex').toUpperCase()).to.equal('0B916407281553F8');
      expect(encodeAddress('4155550123').toString('hex').toUpperCase()).to.equal('0A811455551032');
      expect(() => encodeAddress('MyBank')).to.throw(RangeError);
      expect(() => encodeAddress('+')).to.throw(RangeError);
    });

    it('writes "00" for the SIM\'s SMSC, or the SMSC given', () => {
      expect(encodeSmsc().toString('hex')).to.equal('00');
      expect(encodeSmsc('+15550000000').toString('hex').toUpperCase()).to.equal('07915155000000F0');
      expect(encodeSmsc('+27381000015').toString('hex').toUpperCase()).to.equal('07917283010010F5');
    });

    it('rounds a validity period up to what the relative TP-VP can say', () => {
      const table: [number, number][] = [
        [5, 0],
        [60, 11],
        [720, 143],
        [721, 144],
        [1440, 167],
        [1441, 168],
        [4 * 1440, 0xaa],
        [30 * 1440, 196],
        [35 * 1440, 197],
        [10 * 365 * 1440, 255],
      ];
      for (const [minutes, vp] of table) {
        expect(relativeValidity(minutes), `${minutes} min`).to.equal(vp);
        expect(validityMinutes(vp)).to.be.at.least(minutes > 63 * 10080 ? 0 : minutes);
      }
      expect(validityMinutes(0xaa)).to.equal(4 * 1440);
    });
  });

  describe('SMS-SUBMIT', () => {
    it('encodes the classic "hellohello" example byte for byte', () => {
      // 00 SMSC from the SIM; 11 SUBMIT + relative VP; 00 MR; 0B91 6407281553F8; PID 00; DCS 00; VP AA (4 days); UDL 0A.
      const e = encodeSubmit({ to: '+46708251358', text: 'hellohello', reference: 0, statusReport: false, validity: 0xaa });
      expect(e.encoding).to.equal('GSM-7');
      expect(e.parts).to.deep.equal([{ hex: '0011000B916407281553F80000AA0AE8329BFD4697D9EC37', tpduLength: 23, seq: 1, total: 1 }]);
      const again = encodeSubmit({ to: '+46708251358', text: 'hellohello', reference: 0, statusReport: false, validityMinutes: 4 * 1440 });
      expect(again.parts[0]!.hex).to.equal(e.parts[0]!.hex);
    });

    it('decodes the classic example', () => {
      const d = asSubmit('0011000B916407281553F80000AA0AE8329BFD4697D9EC37');
      expect(d).to.include({ smsc: '', to: '+46708251358', mr: 0, dcs: 0, encoding: 'GSM-7', text: 'hellohello', statusReport: false, validity: 0xaa, tpduLength: 23 });
      expect(d.part).to.equal(undefined);
    });

    it('asks for a status report, and puts an explicit SMSC in front (not counted in the AT+CMGS length)', () => {
      const e = encodeSubmit({ to: '+14155550123', text: 'Hi', reference: 1, smsc: '+15550000000' });
      const part = e.parts[0]!;
      expect(part.hex.startsWith('07915155000000F0' + '21')).to.equal(true); // 0x21: SUBMIT + SRR
      expect(part.hex.length / 2).to.equal(8 + part.tpduLength);
      const d = asSubmit(part.hex);
      expect(d).to.include({ smsc: '+15550000000', to: '+14155550123', statusReport: true, text: 'Hi', tpduLength: part.tpduLength });
    });

    it('round-trips GSM-7 escape characters (€ [ ] { } ~ ^ | \\) in one part', () => {
      const text = 'Price 5€ [promo] {ok} ~^| \\ @£$¥ èéùìò ÄÖÑÜ§ äöñüà';
      const e = encodeSubmit({ to: '+14155550123', text, reference: 9 });
      expect(e.encoding).to.equal('GSM-7');
      expect(e.parts).to.have.length(1);
      const d = asSubmit(e.parts[0]!.hex);
      expect(d.text).to.equal(text);
      expect(d.dcs).to.equal(0);
      expect(d.tpduLength).to.equal(e.parts[0]!.tpduLength);
    });

    it('splits long GSM-7 text into 153-septet parts with a concatenation UDH and fill bit', () => {
      const text = 'Your appointment [tomorrow] costs 20€. '.repeat(12);
      const e = encodeSubmit({ to: '+14155550123', text, reference: 0x1234 });
      expect(e.parts.length).to.be.greaterThan(2);
      const decoded = e.parts.map((p) => asSubmit(p.hex));
      decoded.forEach((d, i) => {
        expect(d.part).to.deep.equal({ ref: 0x34, total: e.parts.length, seq: i + 1 });
        expect(d.tpduLength).to.equal(e.parts[i]!.tpduLength);
        expect(d.tpduLength).to.be.at.most(7 + 2 + 7 + 140); // fo mr da(7) pid dcs udl + 140 octets of UD
        expect(encodeGsm7(d.text).length).to.be.at.most(153);
      });
      // UDHI is set and the UD starts 05 00 03 ref total seq; the first septet after it is
      // shifted by the fill bit.
      const first = Buffer.from(e.parts[0]!.hex, 'hex');
      const tpdu = first.subarray(1);
      expect(tpdu[0]! & 0x40).to.equal(0x40);
      // fo, mr, DA (0B 91 + 6 octets), pid, dcs, then UDL at 12 and the UD from 13
      const udl = tpdu[12]!;
      expect(udl).to.equal(7 + encodeGsm7(decoded[0]!.text).length);
      expect(udl).to.be.within(7 + 152, 7 + 153);
      expect(tpdu.subarray(13, 19).toString('hex')).to.equal(`05000334${e.parts.length.toString(16).padStart(2, '0')}01`);
      expect(tpdu[19]).to.equal(('Y'.charCodeAt(0) << 1) & 0xff);
      expect(joined(decoded)).to.equal(text);
    });

    it('sends emoji and other non-GSM text as UCS-2 in 67-unit parts', () => {
      const text = 'Grüße aus Köln 😀 — наш офис открыт ☎️ '.repeat(5);
      const e = encodeSubmit({ to: '+4915112345678', text, reference: 7 });
      expect(e.encoding).to.equal('UCS-2');
      const decoded = e.parts.map((p) => asSubmit(p.hex));
      for (const d of decoded) {
        expect(d.dcs).to.equal(8);
        expect(d.encoding).to.equal('UCS-2');
        expect(d.text.length).to.be.at.most(67);
        expect(d.part?.ref).to.equal(7);
      }
      expect(joined(decoded)).to.equal(text);
    });

    it('sends a short emoji text as one UCS-2 part without UDH', () => {
      const e = encodeSubmit({ to: '+14155550123', text: 'Thanks 😀', reference: 1 });
      expect(e.parts).to.have.length(1);
      const d = asSubmit(e.parts[0]!.hex);
      expect(d.text).to.equal('Thanks 😀');
      expect(d.part).to.equal(undefined);
      expect(e.parts[0]!.hex.slice(2, 4)).to.equal('21'); // no UDHI
    });

    it('refuses a destination that is not a number', () => {
      expect(() => encodeSubmit({ to: 'Pizza', text: 'x', reference: 1 })).to.throw(RangeError);
    });
  });

  describe('SMS-DELIVER', () => {
    it('decodes the classic published example', () => {
      const d = decodePdu('07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37') as DeliverPdu;
      expect(d.type).to.equal('deliver');
      expect(d.smsc).to.equal('+27381000015');
      expect(d.from).to.equal('27838890001'); // type C8: not international
      expect(d.text).to.equal('hellohello');
      expect(d.scts).to.equal('1999-03-29T15:16:59+02:00');
      expect(d.timestamp.toISOString()).to.equal('1999-03-29T13:16:59.000Z');
    });

    it('decodes a two-part GSM-7 text with escapes, built by the simulator\'s encoder', () => {
      const parts = [
        '07915155000000F0440B914151550521F3000042305090020300A00500032A0201A0F2F4B8AC03D53665D0860797BFDBEF8D0FB441BDD79B1468D3DB503640D0E60582CAD3E3B20E54DB94411B1E5CFE6EBF373ED006F55E6F52A04D6F43D900419B17082A4F8FCB3A506D53066D7870F9BBFDDEF8401BD47BBD498136BD0D6503046D5E20A83C3D2EEB40B54D19B4E1C1E5EFF67BE3036D50EFF52605DAF436940D10B47981A0',
        '07915155000000F0440B914151550521F30000423050900203009E0500032A0202E4E9715907AA6DCAA00D0F2E7FB7DF1B1F68837AAF3729D0A6B7A16C80A0CD0B0495A7C7651DA8B62983363CB8FCDD7E6F7CA00DEABDDEA4409BDE86B20182362F10549E1E9775A0DAA60CDAF0E0F277FBBDF18136A8F77A93026D7A1BCA0608DABC4050797A5CD6816A9B3268C383CBDFEDF7C607DAA0DEEB4D0AB4E96D281B2068F30201',
      ].map((h) => decodePdu(h) as DeliverPdu);
      for (const p of parts) {
        expect(p).to.include({ type: 'deliver', smsc: '+15550000000', from: '+14155550123', encoding: 'GSM-7' });
        expect(p.scts).to.equal('2024-03-05T09:20:30+00:00');
      }
      expect(parts.map((p) => p.part)).to.deep.equal([
        { ref: 42, total: 2, seq: 1 },
        { ref: 42, total: 2, seq: 2 },
      ]);
      expect(joined(parts)).to.equal('Price: 5€ [promo] {ok} ~^| \\ '.repeat(8));
    });

    it('decodes UCS-2 with an emoji', () => {
      const d = decodePdu('07915155000000F0040B914151550521F3000842305090020300100047007200FC00DF00650020D83DDE00') as DeliverPdu;
      expect(d).to.include({ from: '+14155550123', encoding: 'UCS-2', dcs: 8, text: 'Grüße 😀' });
    });

    it('decodes an alphanumeric sender', () => {
      const d = decodePdu('00040BD0CDBC30EC5E0300004230509002030002E834') as DeliverPdu;
      expect(d).to.include({ smsc: '', from: 'MyBank', text: 'hi' });
    });

    it('reads a time zone west of UTC', () => {
      const d = decodePdu('00040A8114555510320000' + '4230504002030A' + '02743D') as DeliverPdu;
      expect(d.from).to.equal('4155550123');
      expect(d.text).to.equal('tz');
      expect(d.scts).to.equal('2024-03-05T04:20:30-05:00');
      expect(d.timestamp.toISOString()).to.equal('2024-03-05T09:20:30.000Z');
      expect(decodeTimestamp(Buffer.from('42305001020340', 'hex')).text).to.equal('2024-03-05T10:20:30+01:00');
    });

    it('shows 8-bit data as Latin-1 and knows the DCS groups', () => {
      const d = decodePdu('00040A81145555103200044230504002030A03414243') as DeliverPdu;
      expect(d).to.include({ encoding: '8-bit', text: 'ABC' });
      expect(dcsEncoding(0x00)).to.equal('GSM-7');
      expect(dcsEncoding(0x08)).to.equal('UCS-2');
      expect(dcsEncoding(0x18)).to.equal('UCS-2'); // class 0 (flash) UCS-2
      expect(dcsEncoding(0x10)).to.equal('GSM-7'); // class 0 (flash) GSM-7
      expect(dcsEncoding(0x04)).to.equal('8-bit');
      expect(dcsEncoding(0xf0)).to.equal('GSM-7');
      expect(dcsEncoding(0xf4)).to.equal('8-bit');
      expect(dcsEncoding(0xe0)).to.equal('UCS-2');
      expect(dcsEncoding(0xc8)).to.equal('GSM-7');
    });

    it('throws PduError on malformed PDUs instead of inventing text', () => {
      expect(() => decodePdu('0')).to.throw(PduError);
      expect(() => decodePdu('zz')).to.throw(PduError);
      expect(() => decodePdu('07915155000000F0040B9141515505')).to.throw(PduError, /TP-OA/);
      // UDL says 10 septets, only 2 octets follow
      expect(() => decodePdu('00040A811455551032000042305040020300' + '0A' + 'E832')).to.throw(PduError);
      expect(() => decodePdu('0003')).to.throw(PduError, /reserved/);
    });
  });

  describe('SMS-STATUS-REPORT', () => {
    it('reads MR, recipient, times and a delivered status', () => {
      // SMSC +15550000000; 06 STATUS-REPORT; MR 05; RA +14155550123; SCTS 2024-03-05 10:20:30 +01;
      // DT 2024-03-05 09:20:35 +00; ST 00.
      const d = decodePdu('07915155000000F006050B914151550521F3423050010203404230509002530000') as StatusReportPdu;
      expect(d).to.include({ type: 'status-report', smsc: '+15550000000', mr: 5, recipient: '+14155550123', status: 0, state: 'delivered', final: true, statusName: 'received_by_sme' });
      expect(d.submittedAt.toISOString()).to.equal('2024-03-05T09:20:30.000Z');
      expect(d.dischargedAt.toISOString()).to.equal('2024-03-05T09:20:35.000Z');
    });

    it('maps an expired validity period', () => {
      const d = decodePdu('0006C80B914151550521F3423050010203404230509002530046') as StatusReportPdu;
      expect(d).to.include({ mr: 200, state: 'expired', final: true, statusName: 'validity_period_expired' });
    });

    it('maps every TP-ST range', () => {
      const table: [number, string, boolean][] = [
        [0x00, 'delivered', true],
        [0x01, 'unknown', true],
        [0x02, 'deleted', true],
        [0x20, 'enroute', false],
        [0x25, 'enroute', false],
        [0x40, 'undeliverable', true],
        [0x41, 'undeliverable', true],
        [0x42, 'rejected', true],
        [0x46, 'expired', true],
        [0x47, 'deleted', true],
        [0x48, 'deleted', true],
        [0x62, 'undeliverable', true],
        [0x90, 'unknown', true],
      ];
      for (const [st, state, final] of table) {
        expect(statusOf(st), `0x${st.toString(16)}`).to.include({ state, final });
      }
    });
  });
});
