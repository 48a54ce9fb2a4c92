import { apiModule } from '../http/modules/api';
import { consoleModule } from '../console/module';
import type { Builder } from '../http/builder';
import { accessModule } from '../http/modules/access';
import { coreHttpModule } from '../http/modules/core';
import { errorPageModule } from '../http/modules/error-page';
import { headersModule } from '../http/modules/headers';
import { limitConnModule } from '../limit/conn-module';
import { limitReqModule } from '../limit/req-module';
import { logModule } from '../http/modules/log';
import { mapModule } from '../http/modules/map';
import { rewriteModule } from '../http/modules/rewrite';
import { staticModule } from '../http/modules/static';
import { sslModule } from '../http/modules/ssl';
import { http2Module } from '../http/modules/http2';
import type { Module } from '../http/module';
import { metricModule } from '../metric/module';
import { mainModule } from './directives';
import { prometheusModule } from '../prometheus/module';
import { throttleModule } from '../throttle/module';
import { fleetModule } from '../fleet/module';
import { proxyModule } from '../proxy/module';
import { proxyHeadersModule } from '../proxy/response-headers';
import { statusModule } from '../status/module';

/**
 * The module list, in nginx's spirit: a new directive family is a new
 * module file plus one line here. Order decides phase-handler order.
 */
export const MODULES: Array<(b: Builder) => Module> = [
  mainModule,
  coreHttpModule,
  sslModule,
  http2Module,
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
