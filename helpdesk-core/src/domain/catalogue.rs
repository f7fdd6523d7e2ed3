//! The setor × motivo catalogue: which reasons (motivos) a department (setor) accepts.
//!
//! The default is the table our users' AI assistants were configured with (the setores and
//! motivos their `abrir_ticket_crm` tool accepts), spelled exactly as their CRM expects it.
//! Matching ignores case, accents and surrounding spaces, and always answers with the
//! canonical spelling.

use crate::domain::text::{closest, fold};
use crate::ids::QueueId;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// One department and the reasons it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setor {
    /// Canonical name (`FINANCEIRO`).
    pub name: String,
    /// Canonical motivos, in display order.
    pub motivos: Vec<String>,
    /// Queue that tickets classified under this setor are routed to, if any.
    #[serde(default)]
    pub queue_id: Option<QueueId>,
}

/// A validated classification: canonical setor and motivo.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Classification {
    /// The setor as the catalogue spells it (`FINANCEIRO`), whatever case or accents were given.
    pub setor: String,
    /// The motivo as the catalogue spells it (`INFORMAR PAGAMENTO`), whatever case or accents were
    /// given.
    pub motivo: String,
}

/// An organization's setor × motivo catalogue: the departments tickets can be classified under
/// and the reasons each accepts, in display order. The default is our users' CRM table;
/// [`Catalogue::new`] builds a tenant's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    setores: Vec<Setor>,
}

const DEFAULT: &[(&str, &[&str])] = &[
    (
        "ADMINISTRAÇÃO",
        &[
            "INFORMAÇÃO",
            "RECLAMAÇÃO",
            "CONTRATO",
            "PONTO ELÉTRICO",
            "NOTA FISCAL",
            "PERMUTA",
        ],
    ),
    (
        "SUPORTE",
        &[
            "SEM CONEXÃO",
            "SEM INTERNET",
            "LENTIDÃO",
            "CABO DESCONECTADO",
            "TROCA DE EQUIPAMENTO",
            "PROBLEMA EMAIL",
            "TROCA MAC",
            "TROCA LOGIN",
            "TROCA SENHA",
            "INTERMITÊNCIA",
            "INFORMAÇÃO LOGIN/SENHA",
            "RECONFIGURAÇÃO PPPOE",
            "REPARO NA REDE",
            "INFORMAÇÃO",
            "TELEFONIA",
        ],
    ),
    (
        "FINANCEIRO",
        &[
            "2.VIA BOLETO",
            "MUDANÇA ENDEREÇO DE COBRANÇA",
            "SOLICITAÇÃO DE DESCONTO",
            "INFORMAR PAGAMENTO",
            "BLOQUEIO",
            "SEMIBLOQUEIO",
            "PROMOÇÃO BANDA EM DOBRO",
            "PAGAMENTO",
            "INFORMAÇÃO",
            "DESBLOQUEIO",
            "MUDANÇA DE VENCIMENTO",
        ],
    ),
    (
        "COMERCIAL",
        &[
            "PEDIDO DE INSTALAÇÃO",
            "MUDANÇA DE PLANO",
            "MUDANÇA DE ENDEREÇO",
            "EXTENSÃO DE CABO",
            "INFORMAÇÃO PLANOS/INSTALAÇÃO",
            "PEDIDO VIABILIDADE",
            "PONTO ADICIONAL",
            "REATIVAÇÃO",
            "UPGRADE",
            "MUDANÇA DE CÔMODO",
            "VENDA REALIZADA",
        ],
    ),
    (
        "RECEPÇÃO",
        &[
            "ATENDIMENTO",
            "RECLAMAÇÃO",
            "CANCELAMENTO",
            "SUSPENSÃO",
            "MUDANÇA TITULARIDADE",
            "2.VIA BOLETO",
        ],
    ),
    (
        "COBRANÇA",
        &[
            "RENEGOCIAÇÃO / ACORDO",
            "RECOLHIMENTO DE EQUIPAMENTOS",
            "COBRANÇA INADIMPLÊNCIA",
        ],
    ),
    (
        "TÉCNICO",
        &[
            "ATENDIMENTO",
            "RETIRADA DE MATERIAL",
            "RECONFIGURAÇÃO/TROCA CONECTOR",
            "LINK LOSS",
            "LENTIDÃO",
            "POTÊNCIA ALTA",
        ],
    ),
    ("OUVIDORIA", &["ATENDIMENTO", "RECLAMAÇÃO"]),
    (
        "LOCAÇÃO",
        &[
            "INSTALAÇAO DE CAMERA",
            "MANUNTENÇAO DE CAMERA",
            "INSTALAÇAO TVBOX",
            "REPARO TVBOX",
        ],
    ),
];

impl Default for Catalogue {
    fn default() -> Self {
        Catalogue {
            setores: DEFAULT
                .iter()
                .map(|(s, ms)| Setor {
                    name: (*s).to_owned(),
                    motivos: ms.iter().map(|m| (*m).to_owned()).collect(),
                    queue_id: None,
                })
                .collect(),
        }
    }
}

impl Catalogue {
    /// Builds a tenant catalogue. Names must be non-empty and unique after folding, within the
    /// catalogue (setores) and within each setor (motivos).
    pub fn new(setores: Vec<Setor>) -> Result<Catalogue> {
        if setores.is_empty() {
            return Err(Error::invalid(
                "catalogue",
                "a catalogue needs at least one setor",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in setores.iter().enumerate() {
            let f = fold(&s.name);
            if f.is_empty() {
                return Err(Error::invalid(
                    format!("catalogue[{i}].name"),
                    "empty setor name",
                ));
            }
            if !seen.insert(f) {
                return Err(Error::invalid(
                    format!("catalogue[{i}].name"),
                    format!("setor {:?} appears twice", s.name),
                ));
            }
            if s.motivos.is_empty() {
                return Err(Error::invalid(
                    format!("catalogue[{i}].motivos"),
                    format!("setor {:?} has no motivo", s.name),
                ));
            }
            let mut ms = std::collections::HashSet::new();
            for (j, m) in s.motivos.iter().enumerate() {
                let fm = fold(m);
                if fm.is_empty() || !ms.insert(fm) {
                    return Err(Error::invalid(
                        format!("catalogue[{i}].motivos[{j}]"),
                        format!("motivo {m:?} is empty or repeated"),
                    ));
                }
            }
        }
        Ok(Catalogue { setores })
    }

    /// The setores, in order.
    pub fn setores(&self) -> &[Setor] {
        &self.setores
    }

    /// Canonical setor names, in order (the tool schema's enum).
    pub fn setor_names(&self) -> Vec<String> {
        self.setores.iter().map(|s| s.name.clone()).collect()
    }

    /// Finds a setor by name, ignoring case, accents and spacing.
    pub fn setor(&self, name: &str) -> Option<&Setor> {
        let f = fold(name);
        self.setores.iter().find(|s| fold(&s.name) == f)
    }

    /// Maps a setor to a queue (or clears the mapping).
    pub fn set_queue(&mut self, setor: &str, queue: Option<QueueId>) -> Result<()> {
        let f = fold(setor);
        let names = self.setor_names();
        let s = self
            .setores
            .iter_mut()
            .find(|s| fold(&s.name) == f)
            .ok_or_else(|| {
                Error::invalid_with("setor", format!("unknown setor {setor:?}"), names)
            })?;
        s.queue_id = queue;
        Ok(())
    }

    /// Validates a pair and returns its canonical spelling.
    ///
    /// An unknown setor lists the valid setores; a motivo that the setor does not accept lists
    /// that setor's motivos; both name the closest valid value.
    ///
    /// ```
    /// use helpdesk_core::domain::catalogue::Catalogue;
    /// let c = Catalogue::default();
    /// let ok = c.classify("financeiro", " informar pagamento").unwrap();
    /// assert_eq!((ok.setor.as_str(), ok.motivo.as_str()), ("FINANCEIRO", "INFORMAR PAGAMENTO"));
    /// assert!(c.classify("FINANCEIRO", "SEM CONEXÃO").is_err());
    /// ```
    pub fn classify(&self, setor: &str, motivo: &str) -> Result<Classification> {
        let Some(s) = self.setor(setor) else {
            let names = self.setor_names();
            let close = closest(setor, names.iter().map(String::as_str)).map(str::to_owned);
            return Err(Error::InvalidClassification {
                setor: setor.trim().to_owned(),
                motivo: motivo.trim().to_owned(),
                allowed: names,
                closest: close,
            });
        };
        let fm = fold(motivo);
        match s.motivos.iter().find(|m| fold(m) == fm) {
            Some(m) => Ok(Classification {
                setor: s.name.clone(),
                motivo: m.clone(),
            }),
            None => Err(Error::InvalidClassification {
                setor: s.name.clone(),
                motivo: motivo.trim().to_owned(),
                allowed: s.motivos.clone(),
                closest: closest(motivo, s.motivos.iter().map(String::as_str)).map(str::to_owned),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalogue_is_the_seed_table() {
        let c = Catalogue::default();
        assert_eq!(
            c.setor_names(),
            [
                "ADMINISTRAÇÃO",
                "SUPORTE",
                "FINANCEIRO",
                "COMERCIAL",
                "RECEPÇÃO",
                "COBRANÇA",
                "TÉCNICO",
                "OUVIDORIA",
                "LOCAÇÃO"
            ]
        );
        let counts: Vec<usize> = c.setores().iter().map(|s| s.motivos.len()).collect();
        assert_eq!(counts, [6, 15, 11, 11, 6, 3, 6, 2, 4]);
        assert!(c.classify("LOCAÇÃO", "MANUNTENÇAO DE CAMERA").is_ok());
    }

    #[test]
    fn matching_ignores_case_accents_and_spaces() {
        let c = Catalogue::default();
        let k = c.classify("  tecnico ", "potencia alta").unwrap();
        assert_eq!(k.setor, "TÉCNICO");
        assert_eq!(k.motivo, "POTÊNCIA ALTA");
        assert_eq!(
            c.classify("Cobranca", "renegociação / acordo")
                .unwrap()
                .motivo,
            "RENEGOCIAÇÃO / ACORDO"
        );
    }

    #[test]
    fn invalid_pair_lists_the_setor_motivos_and_closest() {
        let c = Catalogue::default();
        match c.classify("FINANCEIRO", "PAGAMENTO PIX").unwrap_err() {
            Error::InvalidClassification {
                setor,
                allowed,
                closest,
                ..
            } => {
                assert_eq!(setor, "FINANCEIRO");
                assert_eq!(allowed.len(), 11);
                assert!(allowed.contains(&"INFORMAR PAGAMENTO".to_owned()));
                assert_eq!(closest.as_deref(), Some("PAGAMENTO"));
            }
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn unknown_setor_lists_setores() {
        let c = Catalogue::default();
        match c.classify("FINANCAS", "PAGAMENTO").unwrap_err() {
            Error::InvalidClassification {
                allowed, closest, ..
            } => {
                assert_eq!(allowed.len(), 9);
                assert_eq!(closest.as_deref(), Some("FINANCEIRO"));
            }
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn custom_catalogues_are_validated() {
        assert!(Catalogue::new(vec![]).is_err());
        let dup = vec![
            Setor {
                name: "Vendas".into(),
                motivos: vec!["A".into()],
                queue_id: None,
            },
            Setor {
                name: "VENDAS ".into(),
                motivos: vec!["B".into()],
                queue_id: None,
            },
        ];
        assert_eq!(
            Catalogue::new(dup).unwrap_err().field(),
            Some("catalogue[1].name")
        );
        let ok = Catalogue::new(vec![Setor {
            name: "Vendas".into(),
            motivos: vec!["Orçamento".into()],
            queue_id: None,
        }])
        .unwrap();
        assert_eq!(
            ok.classify("vendas", "orcamento").unwrap().motivo,
            "Orçamento"
        );
    }
}
