import type { FieldIssue } from '@mem0-stack/errors';

/**
 * An error the API answers with as RFC 9457 problem+json. Carries its HTTP status and
 * stable code so the error handler never has to guess.
 * @example throw new ApiProblem(404, 'MEMORY_NOT_FOUND', 'Memory not found');
 */
export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: FieldIssue[] | undefined;
  constructor(status: number, code: string, message: string, details?: FieldIssue[]) {
    super(message);
    this.name = 'ApiProblem';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}
