import type { IncomingHttpHeaders, Server } from 'node:http';

export interface ChangeCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: { version?: number; fields: string[]; attributes?: string[]; actor: string; organization?: string };
}

export function verifyWebhook(secret: string, headers: IncomingHttpHeaders | Record<string, string>, body: string, now?: number): boolean;

export function createConsumer(opts: {
  secret: string;
  mySub: string;
  onEvent: (event: ChangeCloudEvent) => unknown;
  onSkipped?: (event: ChangeCloudEvent) => unknown;
}): Server;
