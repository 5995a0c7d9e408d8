//! Extractors that turn requests into typed values, refusing bad ones with API errors.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use kapu_core::{Actor, Error, Kapu};
use serde::de::DeserializeOwned;

use crate::context::{Ctx, RequestInfo};
use crate::error::ApiError;

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Any authenticated caller, including one whose password has expired.
pub struct AnyApiActor(pub Actor);

impl FromRequestParts<Kapu> for AnyApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, kapu: &Kapu) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(Error::Unauthenticated)?.to_string();
        let Ok(Ctx(ctx, _)) = Ctx::from_request_parts(parts, kapu).await;
        let actor = kapu.authenticate(&token, ctx).await?;
        if let Some(info) = parts.extensions.get::<RequestInfo>() {
            info.writer.remember(&parts.method, &actor);
        }
        Ok(AnyApiActor(actor))
    }
}

/// An authenticated caller with a valid password: the usual guard.
pub struct ApiActor(pub Actor);

impl FromRequestParts<Kapu> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, kapu: &Kapu) -> Result<Self, Self::Rejection> {
        let AnyApiActor(actor) = AnyApiActor::from_request_parts(parts, kapu).await?;
        if actor.restricted {
            return Err(Error::PasswordExpired.into());
        }
        if actor.enrol_only {
            return Err(Error::EnrolFirst.into());
        }
        Ok(ApiActor(actor))
    }
}

/// A caller managing their own second factors: also a session that may do nothing else
/// (its user must have a factor and has none), but not one whose password has expired.
pub struct FactorActor(pub Actor);

impl FromRequestParts<Kapu> for FactorActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, kapu: &Kapu) -> Result<Self, Self::Rejection> {
        let AnyApiActor(actor) = AnyApiActor::from_request_parts(parts, kapu).await?;
        if actor.restricted {
            return Err(Error::PasswordExpired.into());
        }
        Ok(FactorActor(actor))
    }
}

/// A JSON body; a malformed one is a `validation_failed` error like any other bad input.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                tracing::debug!(%rejection, "bad JSON body");
                Err(Error::field("body", "error.bad_request").into())
            }
        }
    }
}

pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(_) => Err(Error::field("query", "error.bad_request").into()),
        }
    }
}
