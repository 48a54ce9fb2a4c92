import { apiModule } from './api/module';
import type { Builder } from './http/builder';
import { accessModule } from './http/access-module';
import { coreHttpModule } from './http/core-module';
import { headersModule } from './http/headers-module';
import { logModule } from './http/log-module';
import { rewriteModule } from './http/rewrite-module';
import { sslModule } from './http/ssl-module';
import type { Module } from './module';
import { metricModule } from './metric/module';
import { mainModule } from './process/directives';
import { prometheusModule } from './prometheus/module';
import { proxyModule } from './proxy/module';
import { statusModule } from './status/module';

/**
 * The module list, in nginx's spirit: a new directive family is a new
 * module file plus one line here. Order decides phase-handler order.
 */
export const MODULES: Array<(b: Builder) => Module> = [
  mainModule,
  coreHttpModule,
  sslModule,
  rewriteModule,
  accessModule,
  headersModule,
  proxyModule,
  logModule,
  metricModule,
  apiModule,
  prometheusModule,
  statusModule,
];
