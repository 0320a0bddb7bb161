import { z } from 'zod';
import { errorCatalogue, type ErrorCode } from '../../domain/errors.ts';

// RFC 9457 problem details as services/http/errorHandler.ts writes them.
export const ERROR_CODES = Object.keys(errorCatalogue) as [ErrorCode, ...ErrorCode[]];

export const ProblemDetails = z
  .looseObject({
    type: z.string().meta({ description: 'urn:customer-ledger:problem:<code>' }),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(ERROR_CODES).meta({ description: 'Stable: match on this, never on title or detail' }),
    detail: z.string(),
    instance: z.string().meta({ description: 'The request path' }),
    correlationId: z.string().meta({ description: 'Quote it when reporting a problem; also in the X-Correlation-Id header' }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'For validation problems: each field path that failed, never its value' }),
  })
  .meta({ description: 'RFC 9457 problem details' });
