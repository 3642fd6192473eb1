#!/usr/bin/env python3
"""A simulated GSM modem speaking AT commands on a real pseudo-terminal.

Used by the tests and by `mctb demo --transport modem` (through src/demo/modem-sim.ts).

    modem-sim.py --link /tmp/x/ttyUSB2 [--pin 1234] [--number +15550009999] [--smsc +15550000000]

It opens a pty pair, points the symlink given by --link at the slave side (the "device" the
transport opens), prints one JSON line {"event": "ready", "path": ..., "tty": ...} on stdout,
and then answers AT commands on the master side like a modem would: echo until ATE0, SIM PIN,
AT+CREG?, AT+CMGF, AT+CNMI, AT+CMGS with the "> " prompt, AT+CMGR/CMGL/CMGD on a simulated SIM.

Everything it sees is reported as JSON lines on stdout: {"event": "at", "cmd": ...} for each
command (the PIN is masked), {"event": "submit", ...} with the decoded SMS-SUBMIT (this
decoder is written independently from src/sms/pdu.ts, so the tests check one against the other),
{"event": "deleted", "index": n}, and so on.

JSON commands on stdin script the world around the modem (each may carry "id"; the simulator
answers {"event": "done", "id": ...} once it has acted):

    {"cms_error": 38, "times": 1}         answer the next CMGS with +CMS ERROR: 38
    {"unplug": true}                      close the pty, remove the symlink (USB pulled)
    {"replug": true}                      new pty, symlink to it, modem state reset (PIN again)
    {"unplug_on_cmgs": true}              vanish when the next PDU has been typed, before answering
    {"deliver": {"from": "+1415...", "text": "STOP", "part_chars": 10, "ref": 7, "ucs2": false}}
                                          store an SMS-DELIVER on the SIM and announce it (+CMTI)
    {"deliver_pdu": "07...hex"}           same with a ready-made PDU (SMSC part included)
    {"status_report": {"mr": 5, "status": 0}}   send +CDS for the submit that got that MR
    {"creg": 2}                           registration state reported by AT+CREG?
    {"mr": 250}                           next TP-MR the modem assigns
    {"hang": true}                        stop answering commands (until {"hang": false})
    {"when": "next_response"}             (with deliver/status_report) hold the unsolicited code
                                          back and send it right before the next command's result
"""

import argparse
import datetime
import json
import os
import pty
import selectors
import sys
import tty

# ---------------------------------------------------------------- GSM 03.38, written from the spec

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
assert len(GSM7_BASIC) == 128
GSM7_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€"}
GSM7_EXT_REV = {v: k for k, v in GSM7_EXT.items()}


def gsm7_septets(text):
    out = []
    for ch in text:
        if ch in GSM7_EXT_REV:
            out += [0x1B, GSM7_EXT_REV[ch]]
        else:
            i = GSM7_BASIC.find(ch)
            if i < 0 or ch == "\x1b":
                return None
            out.append(i)
    return out


def gsm7_text(septets):
    out, esc = [], False
    for s in septets:
        if esc:
            out.append(GSM7_EXT.get(s, GSM7_BASIC[s]))
            esc = False
        elif s == 0x1B:
            esc = True
        else:
            out.append(GSM7_BASIC[s])
    return "".join(out)


def pack7(septets, fill_bits):
    """Septets into octets, LSB first, after `fill_bits` zero bits."""
    acc, nbits, out = 0, fill_bits, []
    for s in septets:
        acc |= (s & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits > 0:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack7(data, count, fill_bits):
    value = int.from_bytes(data, "little")
    return [(value >> (fill_bits + 7 * i)) & 0x7F for i in range(count)]


# ---------------------------------------------------------------- addresses and timestamps

def swap_digits(data, ndigits):
    s = "".join("%X%X" % (b & 0x0F, b >> 4) for b in data)
    return s[:ndigits]


def encode_digits(digits):
    d = digits + ("F" if len(digits) % 2 else "")
    return bytes(int(d[i + 1] + d[i], 16) for i in range(0, len(d), 2))


def encode_address(number):
    """TP address (length in digits); '+' makes it international (0x91)."""
    if number.startswith("+"):
        digits, toa = number[1:], 0x91
    elif number.isdigit():
        digits, toa = number, 0x81
    else:
        sept = gsm7_septets(number)
        return bytes([(len(sept) * 7 + 3) // 4, 0xD0]) + pack7(sept, 0)
    return bytes([len(digits), toa]) + encode_digits(digits)


def encode_smsc(number):
    if not number:
        return b"\x00"
    digits = number.lstrip("+")
    body = bytes([0x91 if number.startswith("+") else 0x81]) + encode_digits(digits)
    return bytes([len(body)]) + body


def read_address(pdu, i):
    ndigits, toa = pdu[i], pdu[i + 1]
    nbytes = (ndigits + 1) // 2
    raw = pdu[i + 2:i + 2 + nbytes]
    if toa & 0x70 == 0x50:
        addr = gsm7_text(unpack7(raw, ndigits * 4 // 7, 0))
    else:
        addr = swap_digits(raw, ndigits)
        if toa & 0x70 == 0x10:
            addr = "+" + addr
    return addr, i + 2 + nbytes


def encode_scts(when):
    off = when.utcoffset() or datetime.timedelta(0)
    q = int(abs(off.total_seconds()) // 900)
    digits = when.strftime("%y%m%d%H%M%S") + "%02d" % q
    b = bytearray(encode_digits(digits))
    if off.total_seconds() < 0:
        b[6] |= 0x08
    return bytes(b)


# ---------------------------------------------------------------- PDUs

def decode_submit(pdu_hex):
    """SMSC part + SMS-SUBMIT TPDU, as AT+CMGS receives it. Raises on anything malformed."""
    pdu = bytes.fromhex(pdu_hex)
    sl = pdu[0]
    smsc = ""
    if sl:
        smsc = swap_digits(pdu[2:1 + sl], (sl - 1) * 2).rstrip("F")
        if pdu[1] & 0x70 == 0x10:
            smsc = "+" + smsc
    tpdu = pdu[1 + sl:]
    fo = tpdu[0]
    if fo & 0x03 != 0x01:
        raise ValueError("not an SMS-SUBMIT")
    mr = tpdu[1]
    to, i = read_address(tpdu, 2)
    pid, dcs = tpdu[i], tpdu[i + 1]
    i += 2
    vpf = (fo >> 3) & 0x03
    vp = None
    if vpf == 2:
        vp = tpdu[i]
        i += 1
    elif vpf in (1, 3):
        vp = tpdu[i:i + 7].hex()
        i += 7
    udl = tpdu[i]
    ud = tpdu[i + 1:]
    udhi = bool(fo & 0x40)
    udh = None
    hdr_len = 0
    if udhi:
        hdr_len = ud[0] + 1
        j = 1
        while j < hdr_len:
            iei, ln = ud[j], ud[j + 1]
            if iei == 0x00 and ln == 3:
                udh = {"ref": ud[j + 2], "total": ud[j + 3], "seq": ud[j + 4]}
            elif iei == 0x08 and ln == 4:
                udh = {"ref": (ud[j + 2] << 8) | ud[j + 3], "total": ud[j + 4], "seq": ud[j + 5]}
            j += 2 + ln
    alphabet = (dcs >> 2) & 0x03 if dcs & 0xC0 == 0 else 0
    if alphabet == 0:
        encoding = "GSM-7"
        header_septets = (hdr_len * 8 + 6) // 7
        fill = header_septets * 7 - hdr_len * 8
        nsept = udl - header_septets
        need = (fill + (udl - header_septets) * 7 + 7) // 8 if nsept > 0 else 0
        if len(ud) < hdr_len + need:
            raise ValueError("user data shorter than UDL")
        text = gsm7_text(unpack7(ud[hdr_len:], max(0, nsept), fill))
    elif alphabet == 2:
        encoding = "UCS-2"
        if len(ud) != udl:
            raise ValueError("UCS-2 user data length mismatch")
        text = ud[hdr_len:udl].decode("utf-16-be", errors="surrogatepass")
    else:
        encoding = "8-bit"
        text = ud[hdr_len:udl].hex()
    return {
        "smsc": smsc,
        "to": to,
        "mr_field": mr,
        "pid": pid,
        "dcs": dcs,
        "encoding": encoding,
        "vpf": vpf,
        "vp": vp,
        "srr": bool(fo & 0x20),
        "reject_duplicates": bool(fo & 0x04),
        "udhi": udhi,
        "udh": udh,
        "udl": udl,
        "text": text,
        "tpdu_length": len(tpdu),
    }


def split_chunks(text, use_gsm, part_chars):
    if part_chars:
        return [text[k:k + part_chars] for k in range(0, len(text), part_chars)] or [""]
    width = (lambda ch: 2 if ch in GSM7_EXT_REV else 1) if use_gsm else (lambda ch: len(ch.encode("utf-16-be")) // 2)
    if sum(width(ch) for ch in text) <= (160 if use_gsm else 70):
        return [text]
    limit = 153 if use_gsm else 67
    chunks, cur, used = [], "", 0
    for ch in text:
        if used + width(ch) > limit:
            chunks.append(cur)
            cur, used = "", 0
        cur += ch
        used += width(ch)
    return chunks + [cur]


def encode_deliver_parts(sender, text, smsc, part_chars=None, ref=0, ucs2=False):
    """SMS-DELIVER PDUs (hex, SMSC part included) for the text, split like a phone would."""
    use_gsm = not ucs2 and gsm7_septets(text) is not None
    chunks = split_chunks(text, use_gsm, part_chars)
    now = datetime.datetime.now().astimezone()
    out = []
    for n, chunk in enumerate(chunks, 1):
        multi = len(chunks) > 1
        fo = 0x04 | (0x40 if multi else 0)  # SMS-DELIVER, no more messages waiting, UDHI when in parts
        udh = bytes([5, 0, 3, ref & 0xFF, len(chunks), n]) if multi else b""
        if use_gsm:
            septets = gsm7_septets(chunk)
            fill = (7 - (len(udh) * 8) % 7) % 7
            ud = udh + pack7(septets, fill)
            udl = (len(udh) * 8 + fill) // 7 + len(septets)
            dcs = 0x00
        else:
            ud = udh + chunk.encode("utf-16-be", errors="surrogatepass")
            udl = len(ud)
            dcs = 0x08
        tpdu = bytes([fo]) + encode_address(sender) + bytes([0x00, dcs]) + encode_scts(now) + bytes([udl]) + ud
        out.append((encode_smsc(smsc) + tpdu).hex().upper())
    return out


def encode_status_report(smsc, mr, recipient, submitted, status):
    now = datetime.datetime.now().astimezone()
    tpdu = bytes([0x06, mr & 0xFF]) + encode_address(recipient) + encode_scts(submitted) + encode_scts(now) + bytes([status & 0xFF])
    return (encode_smsc(smsc) + tpdu).hex().upper(), len(tpdu)


# ---------------------------------------------------------------- the modem

CME_TEXT = {3: "operation not allowed", 10: "SIM not inserted", 11: "SIM PIN required", 12: "SIM PUK required", 16: "incorrect password"}


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Modem:
    def __init__(self, args, selector):
        self.args = args
        self.sel = selector
        self.link = args.link
        self.master = None
        self.slave = None
        self.sim = {}  # index -> {"stat": 0 unread / 1 read, "pdu": hex, "length": n}
        self.next_mr = args.mr
        self.submits = {}  # mr -> (to, datetime)
        self.cms_errors = []
        self.unplug_on_cmgs = False
        self.creg = args.creg
        self.hang = False
        # Not an AT port at all (a USB modem's diagnostic port, a GPS): reads everything, says nothing.
        self.mute = args.mute
        self.pin_attempts = 3
        self.deferred = []
        self.plug()

    # --- the USB cable

    def reset(self):
        self.echo = True
        self.cmee = 0
        self.cmgf = 1
        self.cnmi = (0, 0, 0, 0, 0)
        self.pin_locked = bool(self.args.pin)
        self.inbuf = b""
        self.pdu_len = None  # set while waiting for a PDU after the "> " prompt

    def plug(self):
        self.reset()
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        name = os.ttyname(self.slave)
        tmp = self.link + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(name, tmp)
        os.replace(tmp, self.link)
        os.set_blocking(self.master, False)
        self.sel.register(self.master, selectors.EVENT_READ, "pty")
        return name

    def unplug(self):
        if self.master is None:
            return
        self.sel.unregister(self.master)
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = None
        if os.path.lexists(self.link):
            os.unlink(self.link)
        self.deferred = []
        emit(event="unplugged")

    # --- talking

    def write(self, data):
        if self.master is None:
            return
        if isinstance(data, str):
            data = data.encode("latin-1")
        try:
            os.write(self.master, data)
        except OSError as e:
            emit(event="write_error", error=str(e))

    def line(self, text):
        self.write("\r\n" + text + "\r\n")

    def final(self, text):
        for urc in self.deferred:
            self.write(urc)
        self.deferred = []
        self.line(text)

    def ok(self):
        self.final("OK")

    def cme(self, code):
        if self.cmee == 0:
            self.final("ERROR")
        elif self.cmee == 1:
            self.final("+CME ERROR: %d" % code)
        else:
            self.final("+CME ERROR: %s" % CME_TEXT.get(code, "unknown"))

    def cms(self, code):
        self.final("+CMS ERROR: %d" % code)

    def urc(self, text, when=None):
        if self.master is None:
            return
        if when == "next_response":
            self.deferred.append(text)
        else:
            self.write(text)

    # --- input from the transport

    def on_pty(self):
        try:
            data = os.read(self.master, 4096)
        except BlockingIOError:
            return
        except OSError:
            # The other side closed the slave; we keep our own slave fd open, so this is rare.
            return
        if not data:
            return
        self.feed(data)

    def feed(self, data):
        if self.mute:
            emit(event="ignored", bytes=len(data))
            return
        for b in data:
            c = bytes([b])
            if self.pdu_len is not None:
                if b == 0x1A:
                    pdu = self.inbuf.decode("latin-1").strip()
                    self.inbuf = b""
                    n = self.pdu_len
                    self.pdu_len = None
                    self.on_pdu(n, pdu)
                    if self.master is None:
                        return
                elif b == 0x1B:
                    self.inbuf = b""
                    self.pdu_len = None
                    emit(event="cmgs_cancelled")
                    self.ok()
                else:
                    if self.echo:
                        self.write(c)
                    self.inbuf += c
                continue
            if self.echo:
                self.write(c)
            if b == 0x0D:
                cmd = self.inbuf.decode("latin-1").strip()
                self.inbuf = b""
                if cmd:
                    self.command(cmd)
                    if self.master is None:
                        return
            elif 0x20 <= b < 0x7F:  # line noise and a stray ESC are not part of a command
                self.inbuf += c

    def command(self, cmd):
        shown = cmd if not cmd.upper().startswith("AT+CPIN=") else 'AT+CPIN="****"'
        emit(event="at", cmd=shown)
        if self.hang:
            return
        u = cmd.upper()
        if not u.startswith("AT"):
            return self.final("ERROR")
        body = cmd[2:]
        ub = u[2:]
        if ub == "":
            return self.ok()
        if ub in ("E0", "E1"):
            self.echo = ub == "E1"
            return self.ok()
        if ub.startswith("+CMEE="):
            self.cmee = int(ub[6:] or 0)
            return self.ok()
        if ub == "+CPIN?":
            if self.pin_attempts <= 0:
                return self.line("+CPIN: SIM PUK") or self.ok()
            self.line("+CPIN: SIM PIN" if self.pin_locked else "+CPIN: READY")
            return self.ok()
        if ub.startswith("+CPIN="):
            given = body[6:].strip().strip('"')
            if not self.pin_locked or self.pin_attempts <= 0:
                return self.cme(3)
            if given == self.args.pin:
                self.pin_locked = False
                self.pin_attempts = 3
                emit(event="pin_ok")
                return self.ok()
            self.pin_attempts -= 1
            emit(event="pin_wrong", attempts_left=self.pin_attempts)
            return self.cme(16)
        if ub == "+CREG?":
            self.line("+CREG: 0,%d" % (0 if self.pin_locked else self.creg))
            return self.ok()
        if ub.startswith("+CMGF="):
            self.cmgf = int(ub[6:])
            return self.ok()
        if ub.startswith("+CNMI="):
            vals = [int(v) if v else 0 for v in ub[6:].split(",")]
            vals += [0] * (5 - len(vals))
            if vals[1] > 3 or vals[3] > 2:
                return self.cms(303)
            self.cnmi = tuple(vals[:5])
            return self.ok()
        if ub in ("+CNUM", "+CNUM?"):
            if self.args.number:
                self.line('+CNUM: "","%s",145' % self.args.number)
            return self.ok()
        if ub.startswith("+CSMS="):
            self.line("+CSMS: 1,1,1")
            return self.ok()
        if ub == "+CNMA":
            return self.cms(340)
        if ub == "+CSCA?":
            self.line('+CSCA: "%s",145' % (self.args.smsc or ""))
            return self.ok()
        sms_cmd = ub.startswith(("+CMGS=", "+CMGR=", "+CMGL", "+CMGD="))
        if sms_cmd and self.pin_locked:
            return self.cms(311)
        if sms_cmd and self.cmgf != 0:
            return self.cms(302) if not ub.startswith("+CMGD=") else self.ok_delete(ub)
        if ub.startswith("+CMGS="):
            try:
                self.pdu_len = int(ub[6:])
            except ValueError:
                return self.final("ERROR")
            self.inbuf = b""
            self.write("\r\n> ")
            return
        if ub.startswith("+CMGR="):
            idx = int(ub[6:])
            msg = self.sim.get(idx)
            if not msg:
                return self.cms(321)
            self.line("+CMGR: %d,,%d" % (msg["stat"], msg["length"]))
            self.write(msg["pdu"] + "\r\n")
            msg["stat"] = 1
            emit(event="read", index=idx)
            return self.ok()
        if ub.startswith("+CMGL"):
            want = int(ub[6:] or 4) if "=" in ub else 0
            for idx in sorted(self.sim):
                msg = self.sim[idx]
                if want == 4 or want == msg["stat"]:
                    self.line("+CMGL: %d,%d,,%d" % (idx, msg["stat"], msg["length"]))
                    self.write(msg["pdu"] + "\r\n")
                    msg["stat"] = 1
            emit(event="listed", indexes=sorted(self.sim))
            return self.ok()
        if ub.startswith("+CMGD="):
            return self.ok_delete(ub)
        return self.final("ERROR")

    def ok_delete(self, ub):
        idx = int(ub[6:].split(",")[0])
        if idx in self.sim:
            del self.sim[idx]
            emit(event="deleted", index=idx)
        return self.ok()

    def on_pdu(self, length, pdu_hex):
        try:
            sub = decode_submit(pdu_hex)
        except Exception as e:  # noqa: BLE001 - anything malformed is a bad PDU to a modem
            emit(event="bad_pdu", pdu=pdu_hex, error=str(e))
            return self.cms(304)
        if sub["tpdu_length"] != length:
            emit(event="bad_pdu", pdu=pdu_hex, error="AT+CMGS=%d but the TPDU has %d octets" % (length, sub["tpdu_length"]))
            return self.cms(304)
        if self.unplug_on_cmgs:
            self.unplug_on_cmgs = False
            emit(event="vanished_during_cmgs", pdu=pdu_hex)
            return self.unplug()
        if self.cms_errors:
            code, times = self.cms_errors[0]
            if times <= 1:
                self.cms_errors.pop(0)
            else:
                self.cms_errors[0] = (code, times - 1)
            emit(event="rejected", cms=code, to=sub["to"], text=sub["text"])
            return self.cms(code)
        if self.creg not in (1, 5):
            emit(event="rejected", cms=331, to=sub["to"], text=sub["text"])
            return self.cms(331)
        if not sub["smsc"] and not self.args.smsc:
            emit(event="rejected", cms=330, to=sub["to"], text=sub["text"])
            return self.cms(330)
        mr = self.next_mr
        self.next_mr = (self.next_mr + 1) % 256
        self.submits[mr] = (sub["to"], datetime.datetime.now().astimezone())
        emit(event="submit", mr=mr, pdu=pdu_hex, **sub)
        self.final("+CMGS: %d" % mr)
        self.line("OK")

    # --- the world around the modem

    def store(self, pdu_hex, length, when):
        idx = 1
        while idx in self.sim:
            idx += 1
        self.sim[idx] = {"stat": 0, "pdu": pdu_hex, "length": length}
        emit(event="stored", index=idx)
        if self.cnmi[1] in (1, 3):
            self.urc('\r\n+CMTI: "SM",%d\r\n' % idx, when)
        return idx

    def deliver_pdu(self, pdu_hex, when=None):
        raw = bytes.fromhex(pdu_hex)
        length = len(raw) - raw[0] - 1
        if self.cnmi[1] == 2 and self.master is not None:
            emit(event="cmt", pdu=pdu_hex)
            self.urc("\r\n+CMT: ,%d\r\n%s\r\n" % (length, pdu_hex), when)
            return
        self.store(pdu_hex, length, when)

    def control(self, msg):
        when = msg.get("when")
        if "cms_error" in msg:
            self.cms_errors.append((int(msg["cms_error"]), int(msg.get("times", 1))))
        if msg.get("unplug"):
            self.unplug()
        if msg.get("replug"):
            if self.master is not None:
                self.unplug()
            name = self.plug()
            emit(event="replugged", path=self.link, tty=name)
        if "unplug_on_cmgs" in msg:
            self.unplug_on_cmgs = bool(msg["unplug_on_cmgs"])
        if "creg" in msg:
            self.creg = int(msg["creg"])
        if "mr" in msg:
            self.next_mr = int(msg["mr"]) % 256
        if "hang" in msg:
            self.hang = bool(msg["hang"])
        if "mute" in msg:
            self.mute = bool(msg["mute"])
        if "deliver" in msg:
            d = msg["deliver"]
            pdus = encode_deliver_parts(d["from"], d["text"], self.args.smsc or "+15550000000", d.get("part_chars"), d.get("ref", 0), d.get("ucs2", False))
            for p in pdus:
                self.deliver_pdu(p, when)
        if "deliver_pdu" in msg:
            self.deliver_pdu(msg["deliver_pdu"].upper(), when)
        if "status_report" in msg:
            r = msg["status_report"]
            mr = int(r["mr"])
            to, at = self.submits.get(mr, (r.get("to", "+10000000000"), datetime.datetime.now().astimezone()))
            pdu_hex, length = encode_status_report(self.args.smsc or "+15550000000", mr, r.get("to", to), at, int(r.get("status", 0)))
            ds = self.cnmi[3]
            if ds == 1:
                self.urc("\r\n+CDS: %d\r\n%s\r\n" % (length, pdu_hex), when)
                emit(event="cds", mr=mr, pdu=pdu_hex)
            elif ds == 2:
                idx = 1
                while idx in self.sim:
                    idx += 1
                self.sim[idx] = {"stat": 0, "pdu": pdu_hex, "length": length}
                self.urc('\r\n+CDSI: "SM",%d\r\n' % idx, when)
                emit(event="cdsi", mr=mr, index=idx, pdu=pdu_hex)
            else:
                emit(event="status_report_dropped", mr=mr)
        if "id" in msg:
            emit(event="done", id=msg["id"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--link", required=True, help="symlink to create for the modem's device")
    ap.add_argument("--pin", default="", help="SIM PIN (empty: the SIM asks for none)")
    ap.add_argument("--number", default="", help="the SIM's own number, answered to AT+CNUM")
    ap.add_argument("--smsc", default="+15550000000", help="the SIM's SMSC number (empty: none, CMGS with SMSC 00 fails 330)")
    ap.add_argument("--mr", type=int, default=0, help="first TP-MR the modem assigns")
    ap.add_argument("--creg", type=int, default=1, help="registration state (1 home, 5 roaming, 2 searching, 0 not)")
    ap.add_argument("--mute", action="store_true", help="not an AT port: read everything, answer nothing (not even an echo)")
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    modem = Modem(args, sel)
    os.set_blocking(sys.stdin.fileno(), False)
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    emit(event="ready", path=args.link, tty=os.ttyname(modem.slave))
    pending = b""
    try:
        while True:
            for key, _ in sel.select():
                if key.data == "pty":
                    if modem.master is not None:
                        modem.on_pty()
                else:
                    try:
                        chunk = os.read(sys.stdin.fileno(), 65536)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        return  # the test process went away: so do we
                    pending += chunk
                    while b"\n" in pending:
                        raw, pending = pending.split(b"\n", 1)
                        if raw.strip():
                            try:
                                modem.control(json.loads(raw.decode("utf-8")))
                            except Exception as e:  # noqa: BLE001 - report and keep running
                                emit(event="control_error", error=str(e), line=raw.decode("utf-8", "replace"))
    finally:
        modem.unplug()


if __name__ == "__main__":
    main()
