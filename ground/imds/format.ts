/**
 * Response bodies shaped like the real IMDS ones: clients sometimes log or
 * parse them, so tests should see what production sees.
 */

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

/** The XHTML error page IMDS sends (same markup as AEMM's copy of it). */
export function errorPage(status: number): string {
  const title = `${status} - ${STATUS_TITLES[status] ?? 'Error'}`;
  return `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>${title}</title>
 </head>
 <body>
  <h1>${title}</h1>
 </body>
</html>
`;
}

type JsonScalar = string | number | boolean | null;

/**
 * IMDS pretty-prints its JSON documents as `"Key" : value` with two-space
 * indentation; flat objects are all it ever serves.
 */
export function imdsJson(doc: Record<string, JsonScalar | readonly string[]>): string {
  const lines = Object.entries(doc).map(
    ([k, v]) => `  ${JSON.stringify(k)} : ${JSON.stringify(v)}`,
  );
  return `{\n${lines.join(',\n')}\n}`;
}

/** Seconds precision, as in `2017-05-17T15:09:54Z`. */
export function imdsTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
