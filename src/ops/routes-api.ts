import { routeProblem, type Route } from '../txn/index.js';
import { HttpError, type ApiAnswer, type ApiRequest, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';

/**
 * `/api/v1/routes`: the routing rules (reference table `routes`). Reads come from LMDB; changes go
 * through the book's control channel and are answered once durable, in force in every worker and
 * applied to LMDB, so a read after the answer sees them.
 */
export function routesApi(api: ApiRoutes, desk: ReferenceDesk): void {
  api
    .get('/api/v1/routes', () => ({ status: 200, body: { routes: listRoutes(desk) } }))
    .get('/api/v1/routes/:id', (req) => ({ status: 200, body: storedRoute(desk, req.params[0]) }))
    .put('/api/v1/routes/:id', 'admin', (req) => setRoute(desk, req))
    .del('/api/v1/routes/:id', 'admin', (req) => removeRoute(desk, req));
}

/** Every rule in id order (LMDB keeps string keys sorted). */
function listRoutes(desk: ReferenceDesk): Route[] {
  return Array.from(desk.state.routes.getRange(), ({ value }) => value);
}

function storedRoute(desk: ReferenceDesk, id: string): Route {
  const route = desk.state.routes.get(id);
  if (route === undefined) throw new HttpError(404, `no route ${JSON.stringify(id)}`);
  return route;
}

/** Sets the whole rule `id` (created or replaced); answers the entry's seq and the rule as stored. */
async function setRoute(desk: ReferenceDesk, req: ApiRequest): Promise<ApiAnswer> {
  const id = req.params[0];
  // Checked here too so a bad rule costs no trip to the book; the book checks again (it is the authority).
  const problem = routeProblem(id, req.body);
  if (problem !== null) throw new HttpError(400, problem);
  const seq = await desk.change('routes', id, req.body, req.who);
  return { status: 200, body: { seq, route: storedRoute(desk, id) } };
}

async function removeRoute(desk: ReferenceDesk, req: ApiRequest): Promise<ApiAnswer> {
  const id = req.params[0];
  storedRoute(desk, id);
  return { status: 200, body: { seq: await desk.change('routes', id, null, req.who) } };
}
