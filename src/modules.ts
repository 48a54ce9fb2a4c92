import { apiModule } from './api/module';
import { consoleModule } from './console/module';
import type { Builder } from './http/builder';
import { accessModule } from './http/access-module';
import { coreHttpModule } from './http/core-module';
import { errorPageModule } from './http/error-page-module';
import { headersModule } from './http/headers-module';
import { limitConnModule } from './limit/conn-module';
import { limitReqModule } from './limit/req-module';
import { throttleModule } from './throttle/module';
import { fleetModule } from './fleet/module';
import { logModule } from './http/log-module';
import { mapModule } from './http/map-module';
import { rewriteModule } from './http/rewrite-module';
import { staticModule } from './http/static-module';
import { sslModule } from './http/ssl-module';
import type { Module } from './module';
import { metricModule } from './metric/module';
import { mainModule } from './process/directives';
import { prometheusModule } from './prometheus/module';
import { proxyModule } from './proxy/module';
import { proxyHeadersModule } from './proxy/response-headers';
import { statusModule } from './status/module';

/**
 * The module list, in nginx's spirit: a new directive family is a new
 * module file plus one line here. Order decides phase-handler order.
 */
export const MODULES: Array<(b: Builder) => Module> = [
  mainModule,
  coreHttpModule,
  sslModule,
  mapModule,
  rewriteModule,
  errorPageModule,
  accessModule,
  headersModule,
  proxyModule,
  proxyHeadersModule,
  logModule,
  metricModule,
  apiModule,
  prometheusModule,
  statusModule,
  // Both put their handlers ahead of allow/deny (nginx's preaccess phase); the later one runs first.
  limitConnModule,
  limitReqModule,
  // Ahead of limit_req and limit_conn: a throttled key is refused before it takes their slots.
  throttleModule,
  // After the limit and throttle modules: it syncs the zones they declared with the fleet's Redis.
  fleetModule,
  consoleModule,
  // Last: it serves files in every location no other module gave a content handler.
  staticModule,
];
