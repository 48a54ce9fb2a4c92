import { ApiNode, fromValue, isObjectNode, ReadCtx, resettable } from '../api/tree';
import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import { ConfSlot, type Scope } from '../config/registry';
import type { Builder } from '../http/builder';
import { ContentHandler, locationOf, ServerConf } from '../http/conf';
import type { HttpContext } from '../http/context';
import { sendResponse } from '../http/respond';
import { answer, noCacheHeaders } from '../http/answer';
import type { Runtime } from '../http/runtime';
import { processExists, WorkerRecords } from '../store/worker-records';
import type { Module } from '../http/module';
import { proxyState } from '../proxy/module';
import { StatusBoard } from './board';
import type { ResetBranch } from './reset';
import { RequestBytes, StatusRecorder } from './recorder';
import { SelfMetrics } from './self-metrics';
import { emptySsl, emptyZone } from './snapshot';
import { angieNode, connectionsNode, CountsOf, InstanceInfo, metricproxyNode, upstreamsNode, zonesNode } from './tree';

const NAME = 'status';
/** A location's status_zone. */
const SLOT = new ConfSlot<string>(NAME);

/** Load-wide state: zone names as declared, then (postconfiguration) the recorder and its board. */
class StatusState {
  /** In declaration order, as the API lists them. */
  readonly serverZones = new Set<string>();
  readonly locationZones = new Set<string>();
  recorder!: StatusRecorder;
  board!: StatusBoard;
  /** This worker's records in the store, between initWorker and exitWorker. */
  records: WorkerRecords | undefined;
  selfUsed = false;
  private self: SelfMetrics | undefined;
  /** Set by the worker; a config loaded elsewhere (tests, `-t`) reports its first load. */
  runtime: Runtime | undefined;
  readonly loadedAt = new Date();

  selfMetrics(): SelfMetrics {
    return (this.self ??= new SelfMetrics(process.pid));
  }
}

function setStatusZone(state: StatusState, d: Directive, scope: Scope): void {
  const name = d.args[0];
  if (name.includes('$')) throw new ConfigError('variables in "status_zone" are not supported');
  if (scope.owner instanceof ServerConf) {
    scope.owner.statusZone = name;
    state.serverZones.add(name);
    return;
  }
  SLOT.set(scope, name);
  state.locationZones.add(name);
}

function requestBytes(b: Builder): RequestBytes {
  const received = b.variables.lookup('request_length');
  const sent = b.variables.lookup('bytes_sent');
  if (received === undefined || sent === undefined) throw new Error('core variables are not defined');
  return { received: (r) => Number(received.get(r) ?? 0), sent: (r) => Number(sent.get(r) ?? 0) };
}

/** `prometheus_self;`: metricproxy's own process metrics, every live worker's, in the text format. */
function selfHandler(state: StatusState): ContentHandler {
  return async (r) => {
    if (r.req.method !== 'GET' && r.req.method !== 'HEAD') {
      answer(r, 405, undefined);
      return;
    }
    const self = state.selfMetrics();
    const text = await self.render();
    sendResponse(r, 200, noCacheHeaders(self.contentType), Buffer.from(text, 'utf8'));
  };
}

/** A status branch whose children `api ... write=on` DELETE resets (reset.ts). */
function resetting(state: StatusState, node: (ctx: ReadCtx) => ApiNode, branch: ResetBranch): (ctx: ReadCtx) => ApiNode {
  return (ctx) => {
    const shown = node(ctx);
    if (!isObjectNode(shown)) return shown;
    return resettable(shown, (name) => {
      if (shown.get(name, ctx) === undefined) return false;
      state.board.reset(branch, name);
      return true;
    });
  };
}

/** Per worker: the records in the store and the flush timer (closed by stopWorker). */
function startWorker(state: StatusState, rt: Runtime): void {
  state.runtime = rt;
  // The master's pid names this instance: a reload keeps counting, a restart starts over.
  const records = WorkerRecords.open(rt.store.env, process.ppid, process.pid);
  records.prune(processExists);
  state.records = records;
  state.board.open(records);
  if (state.selfUsed) state.selfMetrics().open(records);
}

/** On exit: the last snapshot, folded into the retired record, then the records close. */
function stopWorker(state: StatusState): void {
  if (state.selfUsed) state.selfMetrics().close();
  state.board.close();
  state.records?.close();
}

/**
 * The status counters of Angie's API: connections, server and location
 * zones (`status_zone`), upstream peers, and metricproxy's own process
 * metrics (`prometheus_self`). Each worker counts in memory; the board
 * sums all workers through the store (see board.ts).
 */
export function statusModule(b: Builder): Module {
  const state = new StatusState();
  const counts: CountsOf = (ctx: ReadCtx) => ctx.use(NAME, () => state.board.read(ctx.now), () => undefined);
  const upstreams = () => proxyState(b).upstreams.values();
  const locationZone = (r: HttpContext) => state.recorder.locationZones.get(SLOT.of(r.loc.conf) as string);
  return {
    name: NAME,
    directives: [
      { name: 'status_zone', contexts: ['server', 'location'], args: '1', unique: true, set: (d, scope) => setStatusZone(state, d, scope) },
      {
        name: 'prometheus_self', contexts: ['location'], args: '0', unique: true,
        set: (_d, scope) => {
          locationOf(scope).content = selfHandler(state);
          state.selfUsed = true;
        },
      },
    ],
    // Mounted before the walk so `/status/` lists these first, in Angie's order.
    preconfiguration() {
      const serverAddr = b.variables.lookup('server_addr');
      const info: InstanceInfo = {
        generation: () => state.runtime?.generation ?? 1,
        loadTime: () => state.runtime?.loadTime ?? state.loadedAt,
        // The tree hands back the request it was given to answer: an HttpContext (api, prometheus).
        address: (r) => serverAddr?.get(r as HttpContext) ?? '',
      };
      b.api.mount('/status/angie', angieNode(info));
      b.api.mount('/status/connections', connectionsNode(counts));
      b.api.mount('/status/slabs', b.slabs.node());
      b.api.mount('/status/http/server_zones', resetting(state, zonesNode(counts, () => state.serverZones, 'server'), 'serverZones'));
      b.api.mount('/status/http/location_zones', resetting(state, zonesNode(counts, () => state.locationZones, 'location'), 'locationZones'));
      b.api.mount('/status/http/upstreams', resetting(state, upstreamsNode(counts, upstreams), 'peers'));
      // metricproxy has no resolver: Angie's branch is there, empty, for tools that expect it.
      b.api.mount('/status/resolvers', fromValue({}));
      b.api.mount('/status/metricproxy', metricproxyNode());
    },
    // Nested locations count into their parent's zone unless they name their own.
    merge: (parent, child) => child ?? parent,
    postconfiguration(bb) {
      bb.slabs.checkSized();
      const pools = proxyState(bb).pools;
      state.recorder = new StatusRecorder(bb.main.workerConnections, requestBytes(bb), upstreams, (u) => pools.idle(u.peers));
      for (const name of state.serverZones) state.recorder.serverZones.set(name, emptyZone());
      for (const server of bb.servers) {
        const zone = server.statusZone === undefined ? undefined : state.recorder.serverZones.get(server.statusZone);
        if (zone !== undefined && server.listens.some((l) => l.ssl)) zone.ssl ??= emptySsl();
      }
      for (const name of state.locationZones) state.recorder.locationZones.set(name, emptyZone());
      state.board = new StatusBoard((nowMs) => state.recorder.counts(nowMs));
      // First in the phase, so no server-level `return` answers before the server zone saw the request.
      bb.phases.serverRewrite.unshift((r) => {
        state.recorder.requestStarted(r);
        return false;
      });
      bb.phases.log.push((r) => state.recorder.requestFinished(r, locationZone(r)));
      bb.connectionHooks.push((socket) => state.recorder.onConnection(socket));
      bb.handshakeHooks.push((server, outcome) => state.recorder.onHandshake(server, outcome));
      bb.refusedStreamHooks.push((server, streams) => state.recorder.onRefusedStreams(server, streams));
    },
    initWorker: (rt) => startWorker(state, rt),
    exitWorker: () => stopWorker(state),
  };
}
