import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * Knows, for every open connection, whether a request is in progress on it.
 * Node's own `closeIdleConnections()` counts a socket that has sent half a
 * request (a browser's pre-connect, a scanner, a slow client) as busy, so one
 * such socket held every drain to its timeout and made it report cut requests.
 * Here "busy" means a complete request arrived and its response is not done.
 */
export interface ConnectionTracker {
  /** Closes every connection with no request in progress; returns how many it closed. */
  closeIdle(): number;
  /** Connections with a request in progress. */
  busy(): number;
  /** Cuts every connection; returns how many had a request in progress. */
  closeAll(): number;
}

/**
 * @example
 * const connections = trackConnections(server);
 * // at drain start:
 * connections.closeIdle();
 */
export function trackConnections(server: Server): ConnectionTracker {
  const inProgress = new Map<Socket, number>();
  server.on("connection", (socket: Socket) => {
    inProgress.set(socket, 0);
    socket.once("close", () => inProgress.delete(socket));
  });
  // 'request' fires once the request's head is complete; 'close' on the
  // response once it is sent or the connection died.
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    inProgress.set(socket, (inProgress.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const left = (inProgress.get(socket) ?? 1) - 1;
      if (inProgress.has(socket)) inProgress.set(socket, left);
    });
  });

  const destroyWhere = (pick: (requests: number) => boolean): Socket[] => {
    const picked = [...inProgress].filter(([, requests]) => pick(requests)).map(([socket]) => socket);
    for (const socket of picked) socket.destroy();
    return picked;
  };
  return {
    closeIdle: () => destroyWhere((requests) => requests === 0).length,
    busy: () => [...inProgress.values()].filter((requests) => requests > 0).length,
    closeAll: () => {
      const busy = [...inProgress.values()].filter((requests) => requests > 0).length;
      destroyWhere(() => true);
      return busy;
    },
  };
}
