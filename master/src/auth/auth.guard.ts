import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AuthError, AuthErrorCode } from './auth.errors.js';
import { AuthService, type Principal } from './auth.service.js';

const PUBLIC_ROUTE = 'berth:public';
const ADMIN_ONLY = 'berth:admin-only';

/** A route anyone may call (health, the OpenAPI document). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** A route only admin tokens may call (servers, platforms: the hosting side). */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

export type AuthenticatedRequest = Request & { principal: Principal };

/** Every route needs a valid bearer token unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    request.principal = await this.auth.authenticate(request.headers.authorization);
    if (
      this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) &&
      request.principal.role !== 'admin'
    ) {
      throw new AuthError(AuthErrorCode.Forbidden, 'this needs an admin token');
    }
    return true;
  }
}
