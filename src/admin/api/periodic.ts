import { Router } from 'express';
import type { AdminContext } from '../context';

/** Periodic tasks and schedules: built against src/beat/ once its service exists. */
export function periodicRoutes(_ctx: AdminContext, _assetVersion: string): Router {
  return Router();
}
