// `mctb doctor`'s check of the GSM modem: the device exists, is a character device mctb may read
// and write, and answers `AT` with `OK` (a real modem's AT port does, whatever its SIM's state).

import { accessSync, constants, statSync } from 'node:fs';
import type { SerialPort } from 'serialport';
import type { ModemConfig } from '../../config/types';
import { DOCTOR_TIMEOUT_MS, fail, pass, who, type CheckResult } from '../../cli/check';

const NAME = 'GSM modem';
/** "AT" is sent again this often until OK or the timeout: a modem may drop the first while it wakes. */
const RESEND_MS = 1000;
const AT_PORT_EXAMPLE = '/dev/serial/by-id/usb-…-if02-port0 or /dev/ttyUSB2';

export async function checkModem(cfg: ModemConfig, timeoutMs = DOCTOR_TIMEOUT_MS): Promise<CheckResult[]> {
  let st;
  try {
    st = statSync(cfg.device);
  } catch {
    return [fail(NAME, `${cfg.device} does not exist`, 'is the modem plugged in and powered? list /dev/serial/by-id/ and set sms.modem.device to its AT port (a by-id path survives reboots)')];
  }
  if (!st.isCharacterDevice()) return [fail(NAME, `${cfg.device} is not a serial device`, `set sms.modem.device to the modem's AT port, e.g. ${AT_PORT_EXAMPLE}`)];
  try {
    accessSync(cfg.device, constants.R_OK | constants.W_OK);
  } catch {
    const user = who();
    return [fail(NAME, `${cfg.device} is not readable and writable by ${user}`, `add ${user} to the group that owns it (usually dialout: \`usermod -aG dialout ${user}\`), then restart mctb`)];
  }
  const answer = await askAt(cfg, timeoutMs);
  switch (answer.kind) {
    case 'ok':
      return [pass(NAME, `${cfg.device} answered AT with OK`)];
    case 'unopenable':
      if (/lock|busy/i.test(answer.error)) {
        return [fail(NAME, `${cfg.device} is in use by another process (${answer.error})`, 'a running `mctb run` holds the modem: stop it (`systemctl stop mctb`) to let doctor ask the modem, or look at its log for "GSM modem ready"')];
      }
      return [fail(NAME, `${cfg.device} does not open as a serial port (${answer.error})`, `set sms.modem.device to the modem's AT port, e.g. ${AT_PORT_EXAMPLE}`)];
    case 'silent':
      return [
        fail(
          NAME,
          `${cfg.device} answers nothing to AT within ${timeoutMs / 1000} s`,
          `is it the modem's AT port? a USB modem shows several ports and only one takes AT commands: try the others (\`ls /dev/serial/by-id/\`); a modem on a UART also needs the right sms.modem.baud_rate (now ${cfg.baud_rate}); is the modem powered?`,
        ),
      ];
    case 'other':
      return [
        fail(
          NAME,
          `${cfg.device} answered ${JSON.stringify(answer.text.replace(/\s+/g, ' ').slice(0, 60))} to AT, never OK`,
          `set sms.modem.device to the modem's AT port, e.g. ${AT_PORT_EXAMPLE} (other ports of a modem, and other devices, answer other things); garbled characters mean a wrong sms.modem.baud_rate (now ${cfg.baud_rate}); if it is the AT port and only echoes, the modem is stuck: power it off and on`,
        ),
      ];
  }
}

type AtAnswer = { kind: 'ok' } | { kind: 'unopenable'; error: string } | { kind: 'silent' } | { kind: 'other'; text: string };

/** Opens the port, sends AT (again every second) and waits for a line reading OK. */
async function askAt(cfg: ModemConfig, timeoutMs: number): Promise<AtAnswer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SerialPort: Port } = require('serialport') as typeof import('serialport');
  const port: SerialPort = new Port({ path: cfg.device, baudRate: cfg.baud_rate, autoOpen: false });
  port.on('error', () => undefined); // reported through open() or the answer; never unhandled
  const opened = await new Promise<Error | null>((resolve) => port.open((err) => resolve(err ?? null)));
  if (opened) return { kind: 'unopenable', error: opened.message.replace(/^Error:?\s*/, '') };
  let text = '';
  try {
    return await new Promise<AtAnswer>((resolve) => {
      const send = () => port.write('AT\r', () => undefined);
      const resend = setInterval(send, RESEND_MS);
      const done = (a: AtAnswer) => {
        clearInterval(resend);
        clearTimeout(timer);
        port.removeAllListeners('data');
        resolve(a);
      };
      const timer = setTimeout(() => done(text.trim() ? { kind: 'other', text: text.trim() } : { kind: 'silent' }), timeoutMs);
      port.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.split(/[\r\n]+/).some((line) => line.trim() === 'OK')) done({ kind: 'ok' });
        else if (text.length > 4096) done({ kind: 'other', text: text.trim() });
      });
      send();
    });
  } finally {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      port.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
