import { defineErrors } from './define.ts'

/** Errors of the HTTP core: routing, bodies, static files, server lifecycle. */
export const httpErrors = defineErrors({
  SWB_ERR_BAD_REQUEST: { status: 400, message: 'Bad Request' },
  SWB_ERR_INVALID_URL: { status: 400, message: 'The request URL is malformed' },
  SWB_ERR_INVALID_JSON: { status: 400, message: 'The request body is not valid JSON' },
  SWB_ERR_INVALID_FORM: { status: 400, message: 'The request body is not a valid form' },
  SWB_ERR_BODY_ABORTED: { status: 400, message: 'The request body was not received in full' },
  SWB_ERR_CORS_REQUEST_HEADERS: {
    status: 400,
    message: 'Access-Control-Request-Headers is malformed or too long',
  },
  SWB_ERR_NOT_FOUND: { status: 404, message: 'Not Found' },
  SWB_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'Method Not Allowed' },
  SWB_ERR_REQUEST_TIMEOUT: { status: 408, message: 'Request Timeout' },
  SWB_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body is larger than the limit' },
  SWB_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Media Type' },
  SWB_ERR_RANGE_NOT_SATISFIABLE: { status: 416, message: 'Range Not Satisfiable' },
  SWB_ERR_HTTP: { status: 500, message: 'HTTP error' },
  SWB_ERR_INTERNAL: { status: 500, message: 'Internal Server Error' },
  SWB_ERR_BODY_ALREADY_READ: { status: 500, message: 'The request body was already read' },
  SWB_ERR_SERVER_CLOSING: { status: 503, message: 'The server is shutting down' },
  SWB_ERR_INVALID_OPTION: { message: 'An option has an invalid value' },
  SWB_ERR_ALREADY_LISTENING: { message: 'The server is already listening or attached' },
  SWB_ERR_INVALID_ROUTE: { message: 'A route definition is invalid' },
})
