import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRecoveryCode, normalizeRecoveryCode } from './targets.ts';

describe('recovery codes', () => {
  it('are 160 random bits in 32 characters a person can copy without misreading, and never repeat', () => {
    const codes = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const code = newRecoveryCode().reveal();
      assert.match(code, /^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$/);
      codes.add(code);
    }
    assert.equal(codes.size, 200);
    assert.equal(String(newRecoveryCode()), '[redacted]');
  });

  it('are accepted as typed: lower case, spaces, no dashes, O for zero, I or L for one', () => {
    const code = '0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ';
    assert.equal(normalizeRecoveryCode(code), code);
    assert.equal(normalizeRecoveryCode(' 0123 4567 89ab cdef ghjk mnpq rstv wxyz '), code);
    assert.equal(normalizeRecoveryCode('O123456789ABCDEFGHJKMNPQRSTVWXYZ'), code);
    assert.equal(normalizeRecoveryCode('0I23456789ABCDEFGHJKMNPQRSTVWXYZ').slice(0, 4), '0123');
  });

  it('of a repository made elsewhere are used exactly as typed', () => {
    assert.equal(normalizeRecoveryCode('  my own restic password  '), 'my own restic password');
  });
});
