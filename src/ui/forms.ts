/**
 * Form bodies for the customer UI: URL-encoded, and multipart for uploads (a manifest
 * and a compose file), parsed with the platform's own FormData into the same flat
 * `req.body` of strings. Uploaded files are small text files, so a hard cap applies.
 */
import { Readable } from 'node:stream';
import express, { type Request, type RequestHandler } from 'express';
import { AppError } from '../errors.ts';

/** A field of the submitted form as a string; '' when absent or not a single value. */
export function formField(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

export const MAX_FORM_BYTES = 1024 * 1024;

const multipart: RequestHandler = async (req, _res, next) => {
  if (!req.is('multipart/form-data')) return next();
  const length = Number(req.get('content-length'));
  if (!Number.isFinite(length) || length > MAX_FORM_BYTES) {
    throw new AppError('validation', { key: 'error.upload_too_large', params: { kib: MAX_FORM_BYTES / 1024 } });
  }
  let form: FormData;
  try {
    const request = new Request('http://controller.local/', {
      method: 'POST',
      headers: { 'content-type': req.get('content-type')! },
      body: Readable.toWeb(req) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    form = await request.formData();
  } catch (error) {
    throw new AppError('validation', { key: 'error.upload_unreadable' }, { cause: error });
  }
  const body: Record<string, string> = {};
  for (const [name, value] of form) body[name] = typeof value === 'string' ? value : await value.text();
  req.body = body;
  next();
};

/** The setup and sign-in forms: a few short fields, parsed before anyone is signed in. */
export const signInForm: RequestHandler = express.urlencoded({ extended: false, limit: '8kb' });

/** Every other form, after sign-in: nobody unknown makes the controller buffer an upload. */
export const formBodies: RequestHandler[] = [express.urlencoded({ extended: false, limit: MAX_FORM_BYTES }), multipart];
