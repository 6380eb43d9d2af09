import express from 'express';
import { captureLogger, serve } from '@cb-lab/testing';
import { requireAdminToken } from './admin-auth';
import { errorHandler } from './http-errors';

describe('requireAdminToken', () => {
  it('lets the right token through and refuses a missing, malformed or wrong one', async () => {
    const app = express();
    app.post('/admin', requireAdminToken('a-very-secret-admin-token'), (_req, res) =>
      res.json({ ok: true }),
    );
    app.use(errorHandler(captureLogger().logger));
    const server = await serve(app);
    const call = (authorization?: string) =>
      fetch(`${server.url}/admin`, {
        method: 'POST',
        headers: authorization ? { authorization } : {},
      });
    try {
      expect((await call('Bearer a-very-secret-admin-token')).status).toBe(200);
      const missing = await call();
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer');
      expect(await missing.json()).toMatchObject({ error: 'unauthorized' });
      expect((await call('Basic a-very-secret-admin-token')).status).toBe(401);
      const wrong = await call('Bearer a-very-secret-admin-tokeN');
      expect(wrong.status).toBe(403);
      expect(await wrong.json()).toEqual({
        error: 'forbidden',
        message: 'The admin token is not valid',
      });
      expect((await call('Bearer short')).status).toBe(403);
    } finally {
      await server.stop();
    }
  });
});
