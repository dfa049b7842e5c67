// REST calls with the bearer token. Failures become ApiError with the API's own code and
// message ({"error": {"code", "message"}}), so the page shows what the API said; a server that
// cannot be reached or does not answer in time has no code, only a sentence.
const requestTimeoutMs = 15_000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** `onUnauthenticated(error)` is called on every 401 (an expired or revoked token). */
export function createApi(getToken, onUnauthenticated) {
  async function send(method, path, { query, body, accept } = {}) {
    const headers = { authorization: `Bearer ${getToken()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (accept) headers.accept = accept;
    let response;
    try {
      response = await fetch(`${path}${queryString(query)}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (error) {
      const timedOut = error?.name === 'TimeoutError';
      throw new ApiError(0, null, timedOut ? 'the server did not answer in time' : 'the server cannot be reached; the page reconnects when it is back');
    }
    if (!response.ok) {
      let parsed;
      try { parsed = await response.json(); } catch { parsed = undefined; }
      const error = new ApiError(response.status, parsed?.error?.code ?? null, parsed?.error?.message ?? `the server answered ${response.status}`);
      if (response.status === 401) onUnauthenticated(error);
      throw error;
    }
    return response;
  }

  const json = async (method, path, options) => {
    const response = await send(method, path, options);
    return response.status === 204 ? null : response.json();
  };

  return {
    get: (path, query) => json('GET', path, { query }),
    post: (path, body) => json('POST', path, { body }),
    delete: (path) => json('DELETE', path),
    /** The body as a Blob (downloads). */
    blob: async (path, accept) => (await send('GET', path, { accept })).blob(),
  };
}

/** Saves a Blob as a file through a temporary object URL. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
