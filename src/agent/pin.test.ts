import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPin, parsePin } from './pin.ts';

const hex = '5f1c0e8a9b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e';
const pairs = hex.match(/../g)!.join(':');

describe('certificate pins', () => {
  for (const spelling of [hex, hex.toUpperCase(), `sha256:${hex}`, `SHA256:${hex}`, pairs, pairs.toUpperCase(), `sha256:${pairs}`, ` ${hex} `]) {
    it(`when the pin is spelled "${spelling.slice(0, 24)}…", then it parses to the same 32 bytes`, () => {
      assert.equal(formatPin(parsePin(spelling)!), `sha256:${hex}`);
    });
  }

  for (const bad of ['', 'sha256:', hex.slice(2), `${hex}00`, `sha1:${hex}`, hex.replace('5f', 'zz'), `${pairs.slice(0, -3)}`, `${hex.slice(0, 32)}:${hex.slice(32)}`]) {
    it(`when the pin is "${bad.slice(0, 24)}…", then it is rejected`, () => {
      assert.equal(parsePin(bad), null);
    });
  }
});
