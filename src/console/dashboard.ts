// The owner's dashboard: filled in below.
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from './server';

export function registerDashboard(app: FastifyInstance, ctx: ConsoleContext): void {
  void app;
  void ctx;
}
