//! Client registration: confidential and public clients and their rules.
